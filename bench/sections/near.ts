import { BentoCache, bentostore } from "bentocache";
import { memoryDriver } from "bentocache/drivers/memory";
import { redisDriver } from "bentocache/drivers/redis";
import { ObjectId } from "bson";
import { readScope } from "../../plugins/cache/cache-sync/read-floor";
import { type SanitizedUser, USER_COLLECTION } from "../../plugins/features/users";
import type { MongoWireServer } from "../../test/support/mongo-wire";
import { createTestStack, type TestStack } from "../../test/support/stack";
import { floorRedis, seedBenchUser, startEnv } from "../lib/env";
import { packageVersion } from "../lib/machine";
import { type Section, type SectionResult, table } from "../lib/report";
import { closedLoop, fmt, type LoadResult, median, minMax, percentiles } from "../lib/stats";

const ratioCell = (xs: number[]) =>
  `${fmt.ratio(median(xs))} (${minMax(xs)
    .map((v) => v.toFixed(2))
    .join("–")})`;

/** A read of the user as a token-carrying request makes it (users are near-served only then). */
const withToken = <T>(fn: () => Promise<T>) => readScope.run({ floor: 1, written: [] }, fn);

/**
 * Issue 16's figures: the near cache against bentocache's memory L1 + Redis L2 (same run, same
 * users), its staleness on another instance after a write is acknowledged, and the consistency
 * observatory's cost on the hit path (sampling every write vs off, side by side).
 */
export const nearSection: Section = async (ctx): Promise<SectionResult> => {
  const env = await startEnv({ env: { NEAR_CACHE: "users", OBSERVATORY_SAMPLE_RATE: 0 } });
  const closers: (() => unknown)[] = [];
  try {
    const { stack } = env;
    // Instance B of the same deployment (same Redis, database and prefix), near cache on too.
    const b = await createTestStack({
      redis: env.redis,
      mongo: { url: env.mongo.url } as MongoWireServer,
      dbName: stack.dbName,
      env: {
        LOG_LEVEL: "silent",
        CACHE_PREFIX: stack.config.CACHE_PREFIX,
        NEAR_CACHE: "users",
        OBSERVATORY_SAMPLE_RATE: 0,
      },
    });
    closers.push(() => b.close());
    const users: SanitizedUser[] = [];
    for (let i = 0; i < 64; i++) users.push(await seedBenchUser(stack));
    const cache = stack.ctx.use("cache").users;
    const raw = stack.ctx.stores.db.collection(USER_COLLECTION);
    const sanitize = stack.ctx.use("sanitizeUser");
    const bentoConn = floorRedis(env.redis, true);
    const bento = new BentoCache({
      default: "l1l2",
      stores: {
        l1l2: bentostore()
          .useL1Layer(memoryDriver({ maxSize: "10mb" }))
          .useL2Layer(redisDriver({ connection: bentoConn, prefix: "bento-near" })),
      },
    });
    closers.push(
      () => bento.disconnectAll(),
      () => bentoConn.disconnect(),
    );
    const loaders = users.map(
      (u) => async () =>
        sanitize((await raw.findOne({ _id: new ObjectId(u.id) })) as Record<string, unknown>),
    );
    const contenders: Record<string, (w: number) => Promise<unknown>> = {
      near: (w) => withToken(() => cache.get(users[w]!.id)),
      bento: (w) =>
        bento.getOrSet({ key: `user:${users[w]!.id}`, factory: loaders[w]!, ttl: 3_600_000 }),
      redis: (w) => cache.get(users[w]!.id),
    };
    for (const [name, fn] of Object.entries(contenders))
      for (let w = 0; w < users.length; w++) {
        await fn(w);
        const got = (await fn(w)) as { id?: string } | null;
        if (got?.id !== users[w]!.id) throw new Error(`${name} did not return the user`);
      }

    const d = Math.round(2000 * ctx.scale);
    const warm = Math.round(400 * ctx.scale);
    const runs: Record<string, LoadResult>[] = [];
    for (let r = 0; r < ctx.runs; r++) {
      const run: Record<string, LoadResult> = {};
      const names = Object.keys(contenders);
      if (r % 2 === 1) names.reverse();
      for (const c of [1, 64])
        for (const name of names)
          run[`${name}${c}`] = await closedLoop(contenders[name]!, {
            concurrency: c,
            durationMs: d,
            warmupMs: warm,
          });
      runs.push(run);
      ctx.log(
        `near run ${r + 1} (64 in flight): near ${fmt.int(run.near64!.opsPerSec)}/s, bentocache L1+L2 ${fmt.int(run.bento64!.opsPerSec)}/s`,
      );
    }
    const med = (k: string, f: keyof LoadResult) => median(runs.map((r) => r[k]![f]));
    const vs = (c: number) => runs.map((r) => r[`near${c}`]!.opsPerSec / r[`bento${c}`]!.opsPerSec);
    const labels: Record<string, string> = {
      near: "cachesync near cache hit (users, token-carrying read)",
      bento: `bentocache ${packageVersion("bentocache")} getOrSet, memory L1 + Redis L2`,
      redis: "cachesync Redis hit (token-less read: users bypass the near cache)",
    };
    const rows: string[][] = [];
    for (const c of [1, 64]) {
      rows.push([`**${c} in flight**`, "", "", "", ""]);
      for (const name of ["near", "bento", "redis"])
        rows.push([
          labels[name]!,
          fmt.int(med(`${name}${c}`, "opsPerSec")),
          fmt.us(med(`${name}${c}`, "p50Us")),
          fmt.us(med(`${name}${c}`, "p99Us")),
          name === "near" ? ratioCell(vs(c)) : "",
        ]);
    }

    // Staleness on B after a write on A is acknowledged: B polls its near cache until it shows it.
    const bCache = b.ctx.use("cache").users;
    const gauge = async (s: TestStack, name: string) =>
      (await s.ctx.metrics.registry.getSingleMetric(name)?.get())?.values.reduce(
        (sum, v) => sum + v.value,
        0,
      ) ?? 0;
    for (let i = 0; (await gauge(b, "cachesync_near_cache_feed_healthy")) !== 1; i++) {
      if (i > 200) throw new Error("B's near-cache feed never became healthy");
      await Bun.sleep(20);
    }
    const bHitsBefore = await gauge(b, "cachesync_near_cache_hits_total");
    const stale: number[] = [];
    const samples = Math.round(300 * ctx.scale);
    for (let i = 0; i < samples; i++) {
      const u = users[i % users.length]!;
      await withToken(() => bCache.get(u.id));
      const written = (await cache.update(u.id, { $set: { bio: `near ${i}` } })) as SanitizedUser;
      const acked = performance.now();
      for (;;) {
        const seen = (await withToken(() => bCache.get(u.id))) as SanitizedUser;
        if (seen.version >= written.version) break;
        if (performance.now() - acked > 5000) throw new Error("B never saw the write");
        await new Promise((r) => setImmediate(r));
      }
      stale.push(performance.now() - acked);
    }
    const [s50, s99, smax] = percentiles(stale, [50, 99, 100]) as [number, number, number];
    const bHits = (await gauge(b, "cachesync_near_cache_hits_total")) - bHitsBefore;

    // Observatory overhead: the Redis hit path with every write sampled vs the observatory off,
    // each stack with the same background writes during its own windows.
    const obs = await overhead(env, ctx, d, warm);
    closers.push(obs.close);

    const body = [
      "Same redis-server, same ~600-byte users (64 keys, one per worker), same run. The near cache stores each entry's JSON and parses it per hit (no caller shares an object); bentocache's memory driver is used with its defaults.",
      "",
      table(["read", "ops/s", "p50 µs", "p99 µs", "near / bentocache (ops/s; min–max)"], rows),
      "",
      `**Staleness on another instance** (${samples} writes on A, each followed by B polling its near cache until it shows the acknowledged version; the feed is a Redis Stream + pub/sub; ${fmt.int(bHits)} of B's reads were near-cache hits): p50 ${s50.toFixed(2)} ms, p99 ${s99.toFixed(2)} ms, max ${smax.toFixed(2)} ms.`,
      "",
      `**Consistency observatory on the hit path** (64 in flight, getUserWithSync hits, ~${obs.writesPerSec} writes/s in the background, alternating windows, ops/s relative to OBSERVATORY_SAMPLE_RATE=0): default share (0.01) ${ratioCell(obs.ratios)}; every write sampled (1) ${ratioCell(obs.worst)}. The observatory adds no code to the hit path; what it costs is its re-checks (a MongoDB and a Redis read per sampled write and bound), which on this 2-core machine share the cores with the readers and the MongoDB test server.`,
    ].join("\n");
    const near64 = median(vs(64));
    const obsRatio = median(obs.ratios);
    return {
      id: "near",
      title: "Near cache and observatory",
      body,
      targets: [
        {
          name: "Near-cache hit vs bentocache memory L1 + Redis L2, 64 in flight",
          value: fmt.ratio(near64),
          target: "≥ 1.0×",
          met: near64 >= 1,
        },
        {
          name: "Near-cache staleness on another instance, p99",
          value: `${s99.toFixed(1)} ms`,
          target: "≤ 50 ms",
          met: s99 <= 50,
        },
        {
          name: "Observatory overhead on the hit path (default sample share)",
          value: `${((1 - obsRatio) * 100).toFixed(1)} %`,
          target: "≤ 3 %",
          met: obsRatio >= 0.97,
        },
      ],
    };
  } finally {
    for (const c of closers.reverse()) await Promise.resolve(c()).catch(() => undefined);
    await env.close();
  }
};

async function overhead(
  env: Awaited<ReturnType<typeof startEnv>>,
  ctx: Parameters<Section>[0],
  d: number,
  warm: number,
) {
  const make = (rate: number) =>
    createTestStack({
      redis: env.redis,
      mongo: { url: env.mongo.url } as MongoWireServer,
      env: { LOG_LEVEL: "silent", OBSERVATORY_SAMPLE_RATE: rate },
    });
  // The default share (1 %), every write (the worst case), and off.
  const stacks: Record<string, TestStack> = {
    on: await make(0.01),
    all: await make(1),
    off: await make(0),
  };
  const users: Record<string, SanitizedUser[]> = {};
  for (const [k, s] of Object.entries(stacks)) {
    users[k] = [];
    for (let i = 0; i < 64; i++) users[k].push(await seedBenchUser(s));
    for (const u of users[k]) await s.ctx.use("cacheSync").getUserWithSync(u.id);
  }
  const writesEveryMs = 10;
  const window = async (k: string) => {
    const s = stacks[k]!;
    const us = users[k]!;
    let on = true;
    const writer = (async () => {
      for (let n = 0; on; n++) {
        await s.ctx.use("cacheSync").updateUserWithSync(us[n % 8]!.id, { $set: { bio: `w${n}` } });
        await Bun.sleep(writesEveryMs);
      }
    })();
    const readers = us.slice(8);
    const r = await closedLoop(
      (w) => s.ctx.use("cacheSync").getUserWithSync(readers[w % readers.length]!.id),
      { concurrency: 64, durationMs: d, warmupMs: warm },
    );
    on = false;
    await writer;
    return r.opsPerSec;
  };
  const ratios: number[] = [];
  const worst: number[] = [];
  // One untimed round first: the JIT and the connections warm up on every stack.
  for (const k of Object.keys(stacks)) await window(k);
  for (let r = 0; r < Math.max(6, ctx.runs * 2); r++) {
    const order = r % 2 ? ["off", "all", "on"] : ["on", "all", "off"];
    const ops: Record<string, number> = {};
    for (const k of order) ops[k] = await window(k);
    ratios.push(ops.on! / ops.off!);
    worst.push(ops.all! / ops.off!);
    ctx.log(
      `observatory run ${r + 1}: 1 % sampled ${fmt.int(ops.on!)}/s, all sampled ${fmt.int(ops.all!)}/s, off ${fmt.int(ops.off!)}/s`,
    );
  }
  return {
    ratios,
    worst,
    writesPerSec: Math.round(1000 / writesEveryMs),
    close: async () => {
      for (const s of Object.values(stacks)) await s.close().catch(() => undefined);
    },
  };
}
