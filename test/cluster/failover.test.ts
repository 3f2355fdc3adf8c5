import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import calculateSlot from "cluster-key-slot";
import type { Cluster } from "ioredis";
import { userKey } from "../../plugins/cache-sync";
import type { RedisCacheStore } from "../../src/adapters/redis/redis-cache-store";
import { type MongoWireServer, startMongoWire } from "../support/mongo-wire";
import {
  type RedisClusterHarness,
  type RedisNodeHandle,
  startRedisCluster,
  until,
} from "../support/redis-cluster";
import { type RedisSentinelHarness, startRedisSentinel } from "../support/redis-sentinel";
import { harnessOnCluster, harnessOnSentinel, withClient } from "../support/redis-server";
import {
  type Deployment,
  deploy,
  type LoadResult,
  runLoad,
  waitEqualToMongo,
} from "./failover-load";

/**
 * A master SIGKILLed under load (writers and readers on two API instances) while its replica
 * lags: the replica is SIGSTOPped first, so the master acknowledges writes the replica never
 * gets, then the master is killed and the replica promoted without them. That is exactly the
 * loss asynchronous replication allows; the adapter's WAIT turns those writes into recorded
 * repairs and the failover fence holds reads until the repairs ran.
 *
 * The time to converge is reported: from the end of the load until every entry equals MongoDB
 * (the repairs need a replica back in sync, since repair tombstones are replicated writes too).
 */
let mongo: MongoWireServer;
beforeAll(async () => {
  mongo = await startMongoWire();
});
afterAll(async () => {
  await mongo?.close();
});

const LOAD_MS = 9000;

/**
 * Stops `replica` (SIGSTOP) and has the master drop its replication link: what the master
 * acknowledges from now on exists only in the master (not even in the replica's socket buffer),
 * so the SIGKILL that follows loses it for good.
 */
async function detach(master: RedisNodeHandle, replica: RedisNodeHandle): Promise<void> {
  replica.pause();
  await withClient(master.url, (c) => c.call("CLIENT", "KILL", "TYPE", "replica"));
}

const report = (name: string, r: LoadResult, failoverMs: number, convergeMs: number) =>
  console.log(
    `[failover] ${name}: reads=${r.reads} writes=${r.writes} errors=${r.errors} stale=${r.stale} failover=${Math.round(failoverMs)}ms converged=${Math.round(convergeMs)}ms after the load`,
  );

describe("Redis Cluster: a master SIGKILLed under load", () => {
  let cluster: RedisClusterHarness;
  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicas: 1 });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  const run = async (env: Record<string, number> = {}) => {
    await cluster.waitHealthy();
    const d: Deployment = await deploy(harnessOnCluster(cluster), mongo, {
      instances: 2,
      users: 120,
      env,
    });
    try {
      const prefix = d.instances[0]?.config.CACHE_PREFIX ?? "";
      const victim = await cluster.masterOf(userKey(prefix, d.userIds[0] ?? ""));
      const [replica] = await cluster.replicasOf(victim);
      if (!replica) throw new Error("the victim has no replica");
      let failoverMs = 0;
      const r = await runLoad(d, LOAD_MS, async () => {
        await Bun.sleep(1000);
        await detach(victim, replica); // the master now acknowledges writes its replica never gets
        await Bun.sleep(1000);
        failoverMs = await cluster.failover(victim, { afterKill: () => replica.resume() });
        await victim.restart(); // rejoins as the new master's replica
        await cluster.waitHealthy();
      });
      const convergeMs = await waitEqualToMongo(d, 20_000).catch(() => -1);
      return { r, failoverMs, convergeMs };
    } finally {
      await d.close();
    }
  };

  test("0 failed calls, 0 stale reads during and after, every entry equal to MongoDB", async () => {
    const { r, failoverMs, convergeMs } = await run();
    report("cluster, protected", r, failoverMs, convergeMs);
    expect(r.reads).toBeGreaterThan(100);
    expect(r.writes).toBeGreaterThan(30);
    expect(r.errors).toBe(0);
    expect(r.stale).toBe(0);
    expect(convergeMs).toBeGreaterThanOrEqual(0);
  }, 90_000);

  /**
   * One write acknowledged while the replica lags, then the failover, then reads on the other
   * instance: protected, none is older than the write; with REDIS_WAIT_REPLICAS=0 and the fence
   * switched off, the promoted replica serves the older version (the check fails when the
   * protection is off). With the fence alone, the first read after the failover is refused,
   * falls back to MongoDB and its fill moves the entry forward, which also hides this one write.
   */
  const lostWrite = async (env: Record<string, number>, fence = true) => {
    await cluster.waitHealthy();
    const d = await deploy(harnessOnCluster(cluster), mongo, { instances: 2, users: 1, env });
    try {
      const [a, b] = d.instances;
      const id = d.userIds[0] ?? "";
      if (!a || !b) throw new Error("two instances expected");
      if (!fence)
        for (const s of d.instances) (s.stores.cache as RedisCacheStore).fence.disableForTest();
      await b.ctx.use("cacheSync").getUserWithSync(id);
      const victim = await cluster.masterOf(userKey(a.config.CACHE_PREFIX, id));
      const [replica] = await cluster.replicasOf(victim);
      if (!replica) throw new Error("the victim has no replica");
      await detach(victim, replica);
      const written = await a.ctx
        .use("cacheSync")
        .updateUserWithSync(id, { $set: { bio: "acknowledged before the failover" } });
      await cluster.failover(victim, { afterKill: () => replica.resume() });
      // B learns the new owner from its periodic slot refresh, so its first read goes straight to
      // the promoted replica (a read that failed first would fall back to MongoDB and refill).
      const slot = calculateSlot(userKey(a.config.CACHE_PREFIX, id));
      const bClient = (b.stores.cache as RedisCacheStore).client as Cluster;
      await until(
        5000,
        "B to see the new master",
        async () => bClient.slots[slot]?.[0] === replica.address,
      );
      const versions: number[] = [];
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline) {
        const u = await b.ctx.use("cacheSync").getUserWithSync(id);
        if (u) versions.push(u.version);
        await Bun.sleep(20);
      }
      await victim.restart();
      return { written: written?.version ?? 0, versions };
    } finally {
      await d.close();
    }
  };

  test("a write acknowledged while the replica lagged is never read older after the failover", async () => {
    const { written, versions } = await lostWrite({});
    expect(versions.length).toBeGreaterThan(3);
    expect(versions.filter((v) => v < written)).toEqual([]);
  }, 60_000);

  test("without WAIT and without the fence (the protection off) the promoted replica serves the older version", async () => {
    const { written, versions } = await lostWrite({ REDIS_WAIT_REPLICAS: 0 }, false);
    expect(versions.filter((v) => v < written).length).toBeGreaterThan(0);
  }, 60_000);
});

describe("Redis Sentinel: the master SIGKILLed under load", () => {
  let sentinel: RedisSentinelHarness;
  beforeAll(async () => {
    sentinel = await startRedisSentinel();
  }, 60_000);
  afterAll(async () => {
    await sentinel?.stop();
  });

  test("0 failed calls, 0 stale reads during and after, every entry equal to MongoDB", async () => {
    const d = await deploy(harnessOnSentinel(sentinel), mongo, { instances: 2, users: 120 });
    try {
      const old = await sentinel.master();
      const [replica] = await sentinel.replicas();
      if (!replica) throw new Error("no replica");
      let failoverMs = 0;
      const r = await runLoad(d, LOAD_MS, async () => {
        await Bun.sleep(1000);
        await detach(old, replica);
        await Bun.sleep(1000);
        failoverMs = await sentinel.failover({ afterKill: () => replica.resume() });
        await old.restart(); // the sentinels turn it into the new master's replica
      });
      const convergeMs = await waitEqualToMongo(d, 30_000).catch(() => -1);
      report("sentinel, protected", r, failoverMs, convergeMs);
      expect(r.reads).toBeGreaterThan(100);
      expect(r.errors).toBe(0);
      expect(r.stale).toBe(0);
      expect(convergeMs).toBeGreaterThanOrEqual(0);
    } finally {
      await d.close();
    }
  }, 120_000);
});
