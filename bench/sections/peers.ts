import KeyvRedis from "@keyv/redis";
import { BentoCache, bentostore } from "bentocache";
import { memoryDriver } from "bentocache/drivers/memory";
import { redisDriver } from "bentocache/drivers/redis";
import { ObjectId } from "bson";
import { createCache } from "cache-manager";
import { Keyv } from "keyv";
import { type SanitizedUser, USER_COLLECTION } from "../../plugins/features/users";
import { floorRedis, seedBenchUser, startEnv } from "../lib/env";
import { packageVersion } from "../lib/machine";
import { type Section, type SectionResult, table } from "../lib/report";
import { closedLoop, fmt, type LoadResult, median, minMax } from "../lib/stats";

/**
 * Figure 2: the same cache-aside job (a ~600-byte user, on a hit) done by peers on the same
 * redis-server in the same run: bentocache getOrSet on its Redis L2 driver (no L1, for a fair
 * comparison; with a memory L1 reported separately) and cache-manager v7 `wrap` on a Keyv Redis
 * store. The factories read the user from the same MongoDB (they only run on the first call).
 */
export const peersSection: Section = async (ctx): Promise<SectionResult> => {
  const env = await startEnv();
  const closers: (() => unknown)[] = [];
  try {
    const { stack } = env;
    const svc = stack.ctx.use("cacheSync");
    // One user per worker: cache-manager coalesces concurrent wraps of one key into one Redis
    // GET, which would turn a hot-key benchmark into a memory benchmark.
    const users: SanitizedUser[] = [];
    for (let i = 0; i < 64; i++) users.push(await seedBenchUser(stack));
    const raw = stack.ctx.stores.db.collection(USER_COLLECTION);
    const sanitize = stack.ctx.use("sanitizeUser");
    const loaders = users.map(
      (u) => async () =>
        sanitize((await raw.findOne({ _id: new ObjectId(u.id) })) as Record<string, unknown>),
    );

    // bentocache: its Redis driver on an ioredis connection configured like ours (auto-pipelining on).
    const bentoConn = floorRedis(env.redis, true);
    const bentoL2 = new BentoCache({
      default: "l2",
      stores: {
        l2: bentostore().useL2Layer(redisDriver({ connection: bentoConn, prefix: "bento-l2" })),
      },
    });
    const bentoConnL1 = floorRedis(env.redis, true);
    const bentoL1 = new BentoCache({
      default: "l1l2",
      stores: {
        l1l2: bentostore()
          .useL1Layer(memoryDriver({ maxSize: "10mb" }))
          .useL2Layer(redisDriver({ connection: bentoConnL1, prefix: "bento-l1l2" })),
      },
    });
    closers.push(
      () => bentoL2.disconnectAll(),
      () => bentoL1.disconnectAll(),
      () => bentoConn.disconnect(),
      () => bentoConnL1.disconnect(),
    );

    // cache-manager v7 on Keyv with @keyv/redis (node-redis client underneath).
    const keyvRedis = new KeyvRedis(env.redis.url);
    const cm = createCache({ stores: [new Keyv({ store: keyvRedis, namespace: "cm" })] });
    closers.push(() => cm.disconnect());

    const keys = users.map((u) => `user:${u.id}`);
    const ttlMs = 3_600_000;
    const peers: Record<string, (w: number) => Promise<unknown>> = {
      ours: (w) => svc.getUserWithSync(users[w]!.id),
      bentoL2: (w) => bentoL2.getOrSet({ key: keys[w]!, factory: loaders[w]!, ttl: ttlMs }),
      bentoL1: (w) => bentoL1.getOrSet({ key: keys[w]!, factory: loaders[w]!, ttl: ttlMs }),
      cacheManager: (w) => cm.wrap(keys[w]!, loaders[w]!, ttlMs),
    };
    // First call of each fills its cache; check each returns the user on a hit.
    for (const [name, fn] of Object.entries(peers)) {
      for (let w = 0; w < users.length; w++) {
        await fn(w);
        const got = (await fn(w)) as { id?: string } | null;
        if (got?.id !== users[w]!.id) throw new Error(`${name} did not return the user on a hit`);
      }
    }

    const d = Math.round(2000 * ctx.scale);
    const warm = Math.round(400 * ctx.scale);
    type Run = Record<string, LoadResult>;
    const runs: Run[] = [];
    for (let r = 0; r < ctx.runs; r++) {
      const run: Run = {};
      const names = Object.keys(peers);
      if (r % 2 === 1) names.reverse();
      for (const c of [1, 64]) {
        for (const name of names)
          run[`${name}${c}`] = await closedLoop(peers[name]!, {
            concurrency: c,
            durationMs: d,
            warmupMs: warm,
          });
      }
      runs.push(run);
      ctx.log(
        `peers run ${r + 1} (64 in flight): ours ${fmt.int(run.ours64!.opsPerSec)}/s, bentocache L2 ${fmt.int(run.bentoL264!.opsPerSec)}/s, cache-manager ${fmt.int(run.cacheManager64!.opsPerSec)}/s`,
      );
    }
    const med = (name: string, f: keyof LoadResult) => median(runs.map((r) => r[name]![f]));
    const ratio = (name: string, c: number) =>
      runs.map((r) => r[`ours${c}`]!.opsPerSec / r[`${name}${c}`]!.opsPerSec);
    const ratioCell = (xs: number[]) =>
      `${fmt.ratio(median(xs))} (${minMax(xs)
        .map((v) => v.toFixed(2))
        .join("–")})`;
    const labels: Record<string, string> = {
      ours: "cachesync getUserWithSync (hit)",
      bentoL2: `bentocache ${packageVersion("bentocache")} getOrSet, Redis L2 only`,
      cacheManager: `cache-manager ${packageVersion("cache-manager")} wrap, Keyv + @keyv/redis`,
      bentoL1:
        "bentocache getOrSet, memory L1 + Redis L2 (not comparable: served from process memory)",
    };
    const rows: string[][] = [];
    for (const c of [1, 64]) {
      rows.push([`**${c === 1 ? "1 in flight" : "64 in flight"}**`, "", "", "", ""]);
      for (const name of ["ours", "bentoL2", "cacheManager", "bentoL1"]) {
        rows.push([
          labels[name]!,
          fmt.int(med(`${name}${c}`, "opsPerSec")),
          fmt.us(med(`${name}${c}`, "p50Us")),
          fmt.us(med(`${name}${c}`, "p99Us")),
          name === "ours" ? "" : ratioCell(ratio(name, c)),
        ]);
      }
    }
    const vsBento64 = median(ratio("bentoL2", 64));
    const vsBento1 = median(ratio("bentoL2", 1));
    const body = [
      "Same redis-server, same ~600-byte user documents, same run; at 64 in flight each worker reads its own user (64 keys), because cache-manager coalesces concurrent `wrap` calls on one key. bentocache's Redis driver uses an ioredis connection with auto-pipelining on (like ours); @keyv/redis uses node-redis. Each peer stores its own envelope (bentocache: value + logical expiry; Keyv: `{ value, expires }`), so their values are slightly bigger.",
      "",
      table(
        ["implementation", "ops/s", "p50 µs", "p99 µs", "ours / theirs (ops/s; min–max)"],
        rows,
      ),
    ].join("\n");
    return {
      id: "peers",
      title: "2. Peers on the same Redis",
      body,
      targets: [
        {
          name: "≥ 1.0× bentocache Redis getOrSet (64 in flight)",
          value: fmt.ratio(vsBento64),
          target: "≥ 1.00×",
          met: vsBento64 >= 1,
        },
        {
          name: "≥ 1.0× bentocache Redis getOrSet (1 in flight)",
          value: fmt.ratio(vsBento1),
          target: "≥ 1.00×",
          met: vsBento1 >= 1,
        },
      ],
    };
  } finally {
    for (const c of closers)
      await Promise.resolve()
        .then(c)
        .catch(() => {});
    await env.close();
  }
};
