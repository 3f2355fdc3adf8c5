import { ObjectId } from "bson";
import { userKey } from "../../plugins/cache/cache-sync";
import type { SanitizedUser } from "../../plugins/features/users";
import type { MongoWireServer, RedisHarness } from "../support/index";
import { seedUser } from "../support/seed";
import { createTestStack, type TestStack } from "../support/stack";
import { checkStale, type OpRecord, waitConverged } from "../support/stale-checker";

/**
 * Jepsen-style load over several API instances sharing one Redis deployment and one database:
 * writers and readers on every instance, one history, the project's stale-read check on it.
 */
export interface Deployment {
  instances: TestStack[];
  userIds: string[];
  close(): Promise<void>;
}

export async function deploy(
  redis: RedisHarness,
  mongo: MongoWireServer,
  opts: { instances?: number; users?: number; env?: Record<string, string | number> } = {},
): Promise<Deployment> {
  const env = {
    REDIS_TIMEOUT_MS: 300,
    BREAKER_COOLDOWN_MS: 200,
    CACHE_MARKER_TTL_MS: 10_000,
    // The wire-protocol test server is one JS thread on a shared 2-core machine.
    MONGO_TIMEOUT_MS: 10_000,
    // The change-stream applier writes every change through again, late: after a failover it
    // can repair what the failover lost before a read sees it, and hide the adapter's holes.
    CHANGE_STREAMS: "off",
    ...opts.env,
  };
  const first = await createTestStack({ redis, mongo, env });
  const instances = [first];
  for (let i = 1; i < (opts.instances ?? 2); i++) {
    instances.push(
      await createTestStack({
        redis,
        mongo,
        dbName: first.dbName,
        env: { ...env, CACHE_PREFIX: first.config.CACHE_PREFIX },
      }),
    );
  }
  const userIds: string[] = [];
  for (let i = 0; i < (opts.users ?? 60); i++) userIds.push((await seedUser(first.ctx)).id);
  // Warm the cache, a few at a time.
  const svc = first.ctx.use("cacheSync");
  for (let i = 0; i < userIds.length; i += 10)
    await Promise.all(userIds.slice(i, i + 10).map((id) => svc.getUserWithSync(id)));
  return {
    instances,
    userIds,
    async close() {
      for (const s of instances.reverse()) await s.close().catch(() => {});
    },
  };
}

export interface LoadResult {
  reads: number;
  writes: number;
  errors: number;
  stale: number;
  samples: unknown[];
}

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)] as T;

/** Writers and readers on every instance for `durationMs`, `fault` running alongside. */
export async function runLoad(
  d: Deployment,
  durationMs: number,
  fault: () => Promise<void>,
  perInstance = { writers: 2, readers: 4 },
): Promise<LoadResult> {
  const ops: OpRecord[] = [];
  let errors = 0;
  let running = true;
  const loop = async (stack: TestStack, kind: "read" | "write") => {
    const svc = stack.ctx.use("cacheSync");
    while (running) {
      const userId = pick(d.userIds);
      const start = performance.now();
      try {
        const u =
          kind === "write"
            ? await svc.updateUserWithSync(userId, { $set: { bio: Math.random().toString(36) } })
            : await svc.getUserWithSync(userId);
        if (u) ops.push({ kind, userId, start, end: performance.now(), version: u.version });
      } catch {
        errors++;
      }
      // Yield so a loop whose calls answer from memory cannot starve the others.
      await Bun.sleep(1);
    }
  };
  const loops = d.instances.flatMap((s) => [
    ...Array.from({ length: perInstance.writers }, () => loop(s, "write")),
    ...Array.from({ length: perInstance.readers }, () => loop(s, "read")),
  ]);
  const stop = Bun.sleep(durationMs).then(() => {
    running = false;
  });
  await Promise.all([fault(), stop]);
  running = false;
  await Promise.all(loops);
  const checked = checkStale(ops);
  return { ...checked, errors };
}

/**
 * Every sampled user's cache entry equals MongoDB's document (or is absent: nothing stale to
 * serve) on every instance's view; resolves with the time it took.
 */
export function waitEqualToMongo(d: Deployment, timeoutMs: number): Promise<number> {
  const stack = d.instances[0] as TestStack;
  const engine = stack.ctx.use("cacheEngine");
  return waitConverged(async () => {
    for (const id of d.userIds) {
      const raw = await stack.stores.cache.get(userKey(stack.config.CACHE_PREFIX, id));
      if (!raw) continue;
      const doc = await stack.ctx.stores.db.collection("users").findOne({ _id: new ObjectId(id) });
      if (!doc) return false;
      const expected = engine.sanitize(doc as Parameters<typeof engine.sanitize>[0]);
      if (!sameUser(JSON.parse(raw) as SanitizedUser, expected)) return false;
    }
    return true;
  }, timeoutMs);
}

function sameUser(a: SanitizedUser, b: SanitizedUser): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object")
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .sort(([x], [y]) => x.localeCompare(y))
        .map(([k, x]) => [k, sortKeys(x)]),
    );
  return v;
}
