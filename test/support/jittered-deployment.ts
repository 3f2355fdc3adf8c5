import Redis from "ioredis";
import type { CacheEngine, CollectionCache } from "../../plugins/cache/cache-sync";
import type { ProtectionName } from "../../plugins/cache/cache-sync/protections";
import { type FaultProxy, type Jitter, startFaultProxy } from "./fault-proxy";
import { type MongoWireServer, startMongoWire } from "./mongo-wire";
import { type RedisHarness, startRedis } from "./redis-server";
import { createTestStack, type TestStack } from "./stack";
import type { CheckedInstance } from "./stale-checker";

export interface JitteredDeploymentOptions {
  /** API instances on the same Redis and database. Default 2. */
  instances?: number;
  /**
   * Per-chunk delay on every instance ↔ store connection. Default 0–4 ms; null: none. An array
   * gives each instance its own (instances in different zones); the last one repeats.
   */
  jitter?: Jitter | null | (Jitter | null)[];
  env?: Record<string, string | number | boolean | undefined>;
  /** Servers to use (owned by the caller); started and stopped here otherwise. */
  redis?: RedisHarness;
  mongoUrl?: string;
}

export interface JitteredDeployment {
  redis: RedisHarness;
  mongoUrl: string;
  stacks: TestStack[];
  /** Each instance's own proxies, so a fault can hit one instance ↔ one store. */
  proxies: { redis: FaultProxy; mongo: FaultProxy }[];
  /** A client straight on Redis, not through any proxy (evictions, tampering). */
  raw: Redis;
  /**
   * The stacks as the stale-read checker drives them, for these users (their tokens are issued
   * now, so a write never waits on a read): service reads, `PATCH /users/me` writes, and the
   * invalidation the admin route makes.
   */
  checked(userIds: readonly string[]): Promise<CheckedInstance[]>;
  /**
   * The same for a second cached collection, listings, through the collection API every declared
   * collection gets (`cache.listings.get`, `.update` — the repository write with its version bump
   * and write-through — and `.invalidate`).
   */
  checkedListings(): CheckedInstance[];
  /** A plain DEL of the user's entry on Redis, as memory pressure does. */
  evict(userId: string): Promise<number>;
  /** `evict` for any declared collection's entries. */
  evictIn(collection: string): (id: string) => Promise<number>;
  /**
   * A nemesis for `runStaleCheck({ fault })`: while `running()`, every `everyMs` it
   * stalls, for `stallMs`, one instance's replies from MongoDB or its requests to Redis (taking
   * turns), while the other instances carry on — the slow-zone moments in which an older read,
   * fill or write-through arrives after a newer write was acknowledged elsewhere. Keep `stallMs`
   * below REDIS_TIMEOUT_MS / MONGO_TIMEOUT_MS: a stall is latency, not an outage.
   *
   * `evict`: these users' entries are also evicted as each stall begins (so reads on the slow
   * instance miss and start loads that wait in it, holding what MongoDB answered then) and again
   * right before it ends (so what those loads bring back finds an empty key, before any other
   * instance has refilled it). That is the window only a fill lease closes: versions cannot tell
   * an old fill in an empty key from a new one. Memory pressure does evict at such moments; a
   * uniform eviction every few ms rarely lines up with them. They are users unless `collection`
   * names another declared collection.
   */
  nemesis(opts: {
    running: () => boolean;
    everyMs?: number;
    stallMs?: number;
    evict?: readonly string[];
    collection?: string;
  }): Promise<void>;
  /** Switches one protection off (or on again) on every instance. */
  setProtection(name: ProtectionName, on: boolean): void;
  close(): Promise<void>;
}

const engineOf = (s: TestStack): CacheEngine => s.ctx.use("cacheEngine");

const cacheOf = (s: TestStack, collection: string): CollectionCache => {
  const c = s.ctx.use("cache").collection(collection);
  if (!c) throw new Error(`${collection} is not a declared collection`);
  return c;
};

/**
 * Several API instances of one deployment, each talking to Redis and MongoDB through its own
 * jittering fault proxy: the setting in which cross-instance races show (docs/CONSISTENCY.md).
 */
export async function startJitteredDeployment(
  opts: JitteredDeploymentOptions = {},
): Promise<JitteredDeployment> {
  // Each proxy fronts one server: a cluster's MOVED replies would name the nodes, not the proxy.
  const redis = opts.redis ?? (await startRedis({ single: true }));
  const mongo = opts.mongoUrl || process.env.MONGO_URL ? undefined : await startMongoWire();
  const mongoUrl = opts.mongoUrl ?? process.env.MONGO_URL ?? (mongo as MongoWireServer).url;
  const jitters = opts.jitter === undefined ? [{ minMs: 0, maxMs: 4 }] : [opts.jitter].flat();
  const proxies: JitteredDeployment["proxies"] = [];
  const stacks: TestStack[] = [];
  const dbName = `cs_jit_${crypto.randomUUID().slice(0, 8)}`;
  for (let i = 0; i < (opts.instances ?? 2); i++) {
    const jitter = jitters[Math.min(i, jitters.length - 1)] ?? undefined;
    const toRedis = await startFaultProxy({ upstream: { port: redis.port }, jitter });
    const mongoPort = Number(new URL(mongoUrl).port);
    const toMongo = await startFaultProxy({ upstream: { port: mongoPort }, jitter });
    proxies.push({ redis: toRedis, mongo: toMongo });
    stacks.push(
      await createTestStack({
        redis,
        mongo: { url: mongoUrl } as MongoWireServer,
        dbName,
        env: {
          CACHE_PREFIX: `j${dbName.slice(-8)}:`,
          ...opts.env,
          REDIS_URL: toRedis.url(redis.url),
          MONGO_URL: toMongo.url(mongoUrl),
        },
      }),
    );
  }
  const raw = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  raw.on("error", () => undefined);
  const tokens = new Map<string, string>();
  const first = stacks[0] as TestStack;
  return {
    redis,
    mongoUrl,
    stacks,
    proxies,
    raw,
    async checked(userIds) {
      for (const id of userIds) {
        const u = await first.ctx.use("cacheSync").getUserWithSync(id);
        if (!u) throw new Error(`no user ${id}`);
        tokens.set(
          id,
          await first.ctx.use("auth").issueToken({ id: u.id, role: u.role, email: u.email }),
        );
      }
      return stacks.map((s, i) => ({
        name: `instance ${String.fromCharCode(65 + i)}`,
        read: async (id) => (await s.ctx.use("cacheSync").getUserWithSync(id))?.version ?? null,
        write: async (id, n) => {
          const res = await s.call("PATCH", "/api/v1/users/me", {
            token: tokens.get(id),
            body: { bio: `write ${n}` },
          });
          if (res.status !== 200) throw new Error(`PATCH /users/me answered ${res.status}`);
          return ((await res.json()) as { data: { version: number } }).data.version;
        },
        invalidate: (id) => s.ctx.use("cacheSync").invalidateUserCache(id),
      }));
    },
    checkedListings() {
      return stacks.map((s, i) => {
        const listings = cacheOf(s, "listings");
        return {
          name: `instance ${String.fromCharCode(65 + i)}`,
          read: async (id) => (await listings.get(id))?.version ?? null,
          write: async (id, n) =>
            (await listings.update(id, { $set: { title: `write ${n}` } }))?.version ?? null,
          invalidate: (id) => listings.invalidate(id),
        };
      });
    },
    evict: (id) => raw.del(engineOf(first).userKey(id)),
    evictIn: (collection) => (id) => raw.del(cacheOf(first, collection).engine.key(id)),
    async nemesis({ running, everyMs = 150, stallMs = 100, evict = [], collection = "users" }) {
      const keys = evict.map((id) => cacheOf(first, collection).engine.key(id));
      // The stall ends on time whatever the evictions do: with Redis down (a soak kills it
      // meanwhile) `raw` queues the DEL until it reconnects, seconds after Redis is back, and a
      // stall held that long cut one instance off from Redis (or MongoDB) while the other served
      // — a partition, which docs/CONSISTENCY.md states is not covered, not the latency a stall is.
      const evictWithin = (ms: number) =>
        keys.length
          ? Promise.race([raw.del(...keys).catch(() => 0), Bun.sleep(Math.max(0, ms))])
          : 0;
      for (let n = 0; running(); n++) {
        await Bun.sleep(everyMs - stallMs);
        const p = proxies[Math.floor(n / 2) % proxies.length] as JitteredDeployment["proxies"][0];
        const [proxy, lane] = n % 2 ? ([p.redis, "up"] as const) : ([p.mongo, "down"] as const);
        proxy.stall(lane);
        const ends = performance.now() + stallMs;
        await evictWithin(stallMs);
        await Bun.sleep(Math.max(0, ends - performance.now()));
        await evictWithin(stallMs / 10);
        proxy.resume(lane);
      }
    },
    setProtection(name, on) {
      for (const s of stacks) engineOf(s).disableProtectionForTest(name, !on);
    },
    async close() {
      raw.disconnect();
      for (const s of stacks) await s.close().catch(() => undefined);
      for (const p of proxies) {
        await p.redis.close();
        await p.mongo.close();
      }
      await mongo?.close();
      if (!opts.redis) await redis.stop();
    },
  };
}
