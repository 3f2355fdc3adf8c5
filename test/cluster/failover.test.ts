import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import calculateSlot from "cluster-key-slot";
import type { Cluster } from "ioredis";
import { userKey } from "../../plugins/cache/cache-sync";
import { RedisCacheStore } from "../../src/adapters/redis/redis-cache-store";
import { topologyFromSettings } from "../../src/adapters/redis/topology";
import { type MongoWireServer, startMongoWire } from "../support/mongo-wire";
import {
  type RedisClusterHarness,
  type RedisNodeHandle,
  startRedisCluster,
  until,
} from "../support/redis-cluster";
import { type RedisSentinelHarness, startRedisSentinel } from "../support/redis-sentinel";
import { harnessOnCluster, harnessOnSentinel, withClient } from "../support/redis-server";
import type { TestStack } from "../support/stack";
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
 * 600 users, so that a failover does not see every user written again (and repaired) while it
 * lasts: entries lost with the master then stay lost unless the protection works. The
 * change-stream applier is off (failover-load.ts) for the same reason.
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
      users: 600,
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
   * One acknowledged change while the replica lags (`change`, resolving with the version it
   * acknowledged), then the failover, then reads on the other instance: protected, none is older
   * than the change; with REDIS_WAIT_REPLICAS=0 and the fence switched off, the promoted replica
   * serves the older version (the check fails when the protection is off). With the fence alone,
   * the first read after the failover is refused, falls back to MongoDB and its fill moves the
   * entry forward, which also hides this one change.
   */
  const lostChange = async (
    change: (a: TestStack, id: string) => Promise<number>,
    env: Record<string, number> = {},
    fence = true,
  ) => {
    await cluster.waitHealthy();
    const d = await deploy(harnessOnCluster(cluster), mongo, {
      instances: 2,
      users: 1,
      env,
    });
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
      const written = await change(a, id);
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
      return { written, versions };
    } finally {
      await d.close();
    }
  };

  /** A write through the service: its write-through moves the cached entry forward. */
  const writeThrough = async (a: TestStack, id: string) => {
    const written = await a.ctx
      .use("cacheSync")
      .updateUserWithSync(id, { $set: { bio: "acknowledged before the failover" } });
    return written?.version ?? Number.POSITIVE_INFINITY;
  };

  /** A write that bypassed the service, then the user's invalidation: the entry is deleted. */
  const invalidation = async (a: TestStack, id: string) => {
    await a.ctx.stores.db
      .collection("users")
      .updateOne(
        { _id: new ObjectId(id) },
        { $set: { bio: "written outside" }, $inc: { version: 1 } },
      );
    const doc = await a.ctx.use("cacheEngine").rawUser(id);
    await a.ctx.use("cacheSync").invalidateUserCache(id);
    return doc?.version ?? Number.POSITIVE_INFINITY;
  };

  test("a write acknowledged while the replica lagged is never read older after the failover", async () => {
    const { written, versions } = await lostChange(writeThrough);
    expect(versions.length).toBeGreaterThan(3);
    expect(versions.filter((v) => v < written)).toEqual([]);
  }, 60_000);

  test("an invalidation acknowledged while the replica lagged is never undone by the failover", async () => {
    const { written, versions } = await lostChange(invalidation);
    expect(versions.length).toBeGreaterThan(3);
    expect(versions.filter((v) => v < written)).toEqual([]);
  }, 60_000);

  test("without WAIT and without the fence (the protection off) the promoted replica serves the older version", async () => {
    const { written, versions } = await lostChange(writeThrough, { REDIS_WAIT_REPLICAS: 0 }, false);
    expect(versions.filter((v) => v < written).length).toBeGreaterThan(0);
  }, 60_000);

  /**
   * A write refused because the key already holds its version must not be acknowledged before
   * that entry is replicated: it may be another instance's fill, which nobody waited for, and a
   * failover would bring the older entry back. `WAIT` is documented to cover the writes of its own
   * connection only, so the script writes the entry again (unchanged) and the `WAIT` that follows
   * covers it. Seen here in the master's replication stream: the refused write adds the entry to
   * it. (Redis 7.0 happens to make `WAIT` wait for the whole stream, so a lagging replica alone
   * would not show the difference on this server.)
   */
  test("a write refused as already stored puts that entry in the replication stream again", async () => {
    await cluster.waitHealthy();
    const topology = topologyFromSettings({ REDIS_CLUSTER_NODES: cluster.seeds });
    const [a, b] = [0, 1].map(
      () => new RedisCacheStore({ topology, timeoutMs: 3000, streamMaxLen: 10 }),
    ) as [RedisCacheStore, RedisCacheStore];
    try {
      const key = `${cluster.prefix}reasserted`;
      const entry = JSON.stringify({ id: "u", version: 2, bio: "x".repeat(500) });
      expect(await a.acquireFillLease(key, "a-fill", 10_000)).toBe(true);
      expect(await a.setIfNewer(key, entry, 2, 60, "a-fill")).toBe(true);
      const master = await cluster.masterOf(key);
      const offset = () =>
        withClient(master.url, async (c) =>
          Number(/master_repl_offset:(\d+)/.exec(await c.info("replication"))?.[1]),
        );
      const before = await offset();
      expect(await b.setIfNewer(key, entry, 2, 60, "write-through")).toBe(false);
      expect((await offset()) - before).toBeGreaterThan(500);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 30_000);
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
    const d = await deploy(harnessOnSentinel(sentinel), mongo, { instances: 2, users: 600 });
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
