import type { Cluster } from "ioredis";
import type { SanitizedUser } from "../../plugins/features/users";
import type { RedisCacheStore } from "../../src/adapters/redis/redis-cache-store";
import { RedisEventBus } from "../../src/adapters/redis/redis-event-bus";
import type { MongoWireServer } from "../../test/support/mongo-wire";
import { startRedisCluster } from "../../test/support/redis-cluster";
import { harnessOnCluster, type RedisHarness } from "../../test/support/redis-server";
import { createTestStack, type TestStack } from "../../test/support/stack";
import { seedBenchUser, startEnv } from "../lib/env";
import { type ChildServer, spawnApp } from "../lib/procs";
import { type Section, type SectionResult, table } from "../lib/report";
import { closedLoop, fmt, type LoadResult, median } from "../lib/stats";
import { type HttpLoad, httpLoad } from "../lib/wrk";

/**
 * Redis Cluster (3 masters + 3 replicas, local processes) beside the standalone redis-server,
 * same run, same MongoDB test server: the read path (getUserWithSync hits), write-through (with
 * WAIT 1 on the cluster, and without it, to price it), the HTTP figure (GET /users/me from a
 * real app/server.ts process), bytes per entry (MEMORY USAGE), keys per user, and events per
 * second through the one event topic (SPUBLISH on the cluster, PUBLISH standalone).
 */
export const clusterSection: Section = async (ctx): Promise<SectionResult> => {
  const env = await startEnv();
  const cluster = await startRedisCluster({ masters: 3, replicas: 1 });
  const children: ChildServer[] = [];
  const stacks: TestStack[] = [];
  try {
    const mongo = { url: env.mongo.url } as MongoWireServer;
    const onCluster = (extra: Record<string, string | number> = {}) =>
      createTestStack({
        redis: harnessOnCluster(cluster) as RedisHarness,
        mongo,
        dbName: env.stack.dbName,
        env: { LOG_LEVEL: "silent", CACHE_PREFIX: env.stack.config.CACHE_PREFIX, ...extra },
      });
    const clusterStack = await onCluster();
    const noWaitStack = await onCluster({ REDIS_WAIT_REPLICAS: 0 });
    stacks.push(clusterStack, noWaitStack);
    const sides: [string, TestStack][] = [
      ["standalone", env.stack],
      ["cluster (WAIT 1)", clusterStack],
      ["cluster, REDIS_WAIT_REPLICAS=0", noWaitStack],
    ];

    const users: SanitizedUser[] = [];
    for (let i = 0; i < 64; i++) users.push(await seedBenchUser(env.stack));
    for (const [, s] of sides)
      for (const u of users) await s.ctx.use("cacheSync").getUserWithSync(u.id);

    const d = Math.round(2000 * ctx.scale);
    const warm = Math.round(400 * ctx.scale);
    type Fig = { read1: LoadResult; read64: LoadResult; write1: LoadResult; write16: LoadResult };
    const figs = new Map<string, Fig[]>();
    for (let r = 0; r < ctx.runs; r++) {
      const order = r % 2 ? [...sides].reverse() : sides;
      for (const [name, s] of order) {
        const svc = s.ctx.use("cacheSync");
        const read = (w: number) => svc.getUserWithSync(users[w % 64]?.id ?? "");
        const write = (w: number) =>
          svc.updateUserWithSync(users[w % 64]?.id ?? "", { $set: { displayName: `w${r}` } });
        const f: Fig = {
          read1: await closedLoop(read, { concurrency: 1, durationMs: d, warmupMs: warm }),
          read64: await closedLoop(read, { concurrency: 64, durationMs: d, warmupMs: warm }),
          write1: await closedLoop(write, { concurrency: 1, durationMs: d, warmupMs: warm }),
          write16: await closedLoop(write, { concurrency: 16, durationMs: d, warmupMs: warm }),
        };
        figs.set(name, [...(figs.get(name) ?? []), f]);
        ctx.log(
          `cluster run ${r + 1} ${name}: hit ${fmt.int(f.read1.opsPerSec)}/s (64: ${fmt.int(f.read64.opsPerSec)}/s), write ${fmt.int(f.write1.opsPerSec)}/s (16: ${fmt.int(f.write16.opsPerSec)}/s)`,
        );
      }
      // Writes grew the versions; re-read so every side serves hits again.
      for (const [, s] of sides)
        for (const u of users) await s.ctx.use("cacheSync").getUserWithSync(u.id);
    }
    const med = (name: string, k: keyof Fig, f: "opsPerSec" | "p50Us" | "p99Us") =>
      median((figs.get(name) ?? []).map((x) => x[k][f]));
    const pathRows = sides.map(([name]) => [
      name,
      `${fmt.int(med(name, "read1", "opsPerSec"))} (p50 ${fmt.us(med(name, "read1", "p50Us"))} µs)`,
      `${fmt.int(med(name, "read64", "opsPerSec"))} (p99 ${fmt.us(med(name, "read64", "p99Us"))} µs)`,
      `${fmt.int(med(name, "write1", "opsPerSec"))} (p50 ${fmt.us(med(name, "write1", "p50Us"))} µs)`,
      `${fmt.int(med(name, "write16", "opsPerSec"))} (p99 ${fmt.us(med(name, "write16", "p99Us"))} µs)`,
    ]);
    const errors = [...figs.values()]
      .flat()
      .reduce(
        (s, f) => s + f.read1.errors + f.read64.errors + f.write1.errors + f.write16.errors,
        0,
      );

    // Bytes per entry and keys per user, after a profile read through HTTP-equivalent calls.
    const probeUser = users[0];
    if (!probeUser) throw new Error("no user");
    const engine = clusterStack.ctx.use("cacheEngine");
    const client = (clusterStack.stores.cache as RedisCacheStore).client as Cluster;
    const userBytes = Number(await client.memory("USAGE", engine.userKey(probeUser.id)));
    const emailBytes = Number(await client.memory("USAGE", engine.emailKey(probeUser.email)));
    const valueBytes = Buffer.byteLength(
      (await client.get(engine.userKey(probeUser.id))) ?? "",
      "utf8",
    );
    // The entry and its email index (keyed by email), then anything else named by the id.
    let userKeys = await client.exists(engine.emailKey(probeUser.email));
    for (const m of client.nodes("master")) {
      let cursor = "0";
      do {
        const [next, keys] = await m.scan(cursor, "MATCH", `*${probeUser.id}*`, "COUNT", 1000);
        cursor = next;
        userKeys += keys.length;
      } while (cursor !== "0");
    }

    // Events per second on the one topic: publish with 64 in flight, one subscriber counting.
    const eventRows: string[][] = [];
    for (const [name, opts] of [
      ["standalone (PUBLISH)", { url: env.redis.url }],
      ["cluster (SPUBLISH)", harnessOnCluster(cluster).adapter],
    ] as const) {
      const bus = new RedisEventBus({ ...opts, timeoutMs: 1000, streamMaxLen: 10_000 });
      let received = 0;
      const topic = `${env.stack.config.CACHE_PREFIX}bench-events`;
      const unsubscribe = await bus.subscribe(topic, () => {
        received++;
      });
      const payload = JSON.stringify({ type: "userDataUpdated", user: { bio: "x".repeat(500) } });
      let published = 0;
      const load = await closedLoop(() => bus.publish(topic, payload).then(() => published++), {
        concurrency: 64,
        durationMs: d,
        warmupMs: warm,
      });
      const deadline = Date.now() + 5000;
      while (received < published && Date.now() < deadline) await Bun.sleep(20);
      await unsubscribe();
      await bus.close();
      eventRows.push([
        name,
        fmt.int(load.opsPerSec),
        fmt.us(load.p99Us),
        `${fmt.int(received)} of ${fmt.int(published)}`,
      ]);
    }

    // HTTP: GET /users/me from a real server process on each topology.
    const token = await env.stack.ctx
      .use("auth")
      .issueToken({ id: probeUser.id, email: probeUser.email, role: "user" });
    const headers = { authorization: `Bearer ${token}` };
    const httpRows: string[][] = [];
    const seconds = Math.max(2, Math.round(6 * ctx.scale));
    // An empty REDIS_URL counts as unset: the cluster server gets only REDIS_CLUSTER_NODES.
    const servers: [string, Record<string, string>][] = [
      ["standalone", {}],
      ["cluster", { REDIS_URL: "", REDIS_CLUSTER_NODES: cluster.seeds }],
    ];
    const http = new Map<string, HttpLoad[]>();
    for (const [name, extra] of servers) {
      const app = await spawnApp(env, extra);
      children.push(app);
      const url = `${app.url}/api/v1/users/me`;
      const check = await fetch(url, { headers });
      if (check.status !== 200) throw new Error(`${name}: /users/me answered ${check.status}`);
      await httpLoad(url, { connections: 64, seconds: 1, headers });
      for (let r = 0; r < ctx.runs; r++)
        http.set(name, [
          ...(http.get(name) ?? []),
          await httpLoad(url, { connections: 64, seconds, headers }),
        ]);
      await app.stop();
    }
    for (const [name] of servers) {
      const runs = http.get(name) ?? [];
      httpRows.push([
        name,
        fmt.int(median(runs.map((x) => x.reqPerSec))),
        fmt.ms(median(runs.map((x) => x.p50Ms))),
        fmt.ms(median(runs.map((x) => x.p99Ms))),
        String(runs.reduce((s, x) => s + x.non2xx + x.errors, 0)),
      ]);
    }
    const httpRatio =
      median((http.get("cluster") ?? []).map((x) => x.reqPerSec)) /
      median((http.get("standalone") ?? []).map((x) => x.reqPerSec));

    const body = [
      "Same run, same MongoDB test server, same ~600-byte users. The cluster is 6 local `redis-server --cluster-enabled yes` processes (3 masters + 3 replicas) on the same 2 cores as everything else, so it competes for CPU: its figures are a floor, not what separate machines give.",
      "",
      "Service calls (in process), ops/s, median of runs:",
      "",
      table(
        [
          "Redis",
          "hit, 1 in flight",
          "hit, 64 in flight",
          "write-through, 1 in flight",
          "write-through, 16 in flight",
        ],
        pathRows,
      ),
      "",
      `Errors over all runs: ${errors}. The WAIT row prices the failover protection: each write-through and tombstone waits for one replica's acknowledgement (docs/SCALING.md).`,
      "",
      "HTTP, GET /api/v1/users/me (a real app/server.ts process, 64 connections):",
      "",
      table(["Redis", "req/s", "p50 ms", "p99 ms", "non-2xx + errors"], httpRows),
      "",
      `Cluster / standalone: ${fmt.ratio(httpRatio)}.`,
      "",
      "Memory and keys (cluster, measured with MEMORY USAGE on the owning master):",
      "",
      table(
        ["what", "value"],
        [
          ["user entry: JSON value", `${valueBytes} B`],
          ["user entry: MEMORY USAGE", `${userBytes} B`],
          ["email index entry: MEMORY USAGE", `${emailBytes} B`],
          ["keys per cached user (entry + email index, no profile read)", String(userKeys)],
        ],
      ),
      "",
      "Events through the one event topic (~560-byte payload), 64 publishes in flight, one subscriber:",
      "",
      table(["bus", "publishes/s", "publish p99 µs", "delivered"], eventRows),
    ].join("\n");
    return {
      id: "cluster",
      title: "Redis Cluster beside standalone",
      body,
      targets: [
        {
          name: "HTTP /users/me on the cluster vs standalone",
          value: fmt.ratio(httpRatio),
          target: "reported",
          met: null,
        },
      ],
    };
  } finally {
    for (const c of children) await c.stop().catch(() => {});
    for (const s of stacks) await s.close().catch(() => {});
    await cluster.stop();
    await env.close();
  }
};
