import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import calculateSlot from "cluster-key-slot";
import { RedisCacheStore } from "../../src/adapters/redis/redis-cache-store";
import { RedisEventBus } from "../../src/adapters/redis/redis-event-bus";
import { INCR_WITH_EXPIRY_LUA } from "../../src/adapters/redis/scripts/incr-with-expiry";
import { INVALIDATE_VERSIONED_LUA } from "../../src/adapters/redis/scripts/invalidate-versioned";
import { PUBLISH_LUA, SHARDED_PUBLISH_LUA } from "../../src/adapters/redis/scripts/publish";
import { RELEASE_LOCK_LUA } from "../../src/adapters/redis/scripts/release-lock";
import { SET_IF_NEWER_LUA } from "../../src/adapters/redis/scripts/set-if-newer";
import { OVERLAY_ACCUMULATE_LUA } from "../../src/adapters/redis/scripts/write-behind";
import { topologyFromSettings } from "../../src/adapters/redis/topology";
import { cacheStoreContract } from "../contract/cache-store.contract";
import { eventBusContract } from "../contract/event-bus.contract";
import { type RedisClusterHarness, startRedisCluster } from "../support/redis-cluster";
import { type RedisSentinelHarness, startRedisSentinel } from "../support/redis-sentinel";

/**
 * The adapter contracts of test/contract, run unchanged on a 3-master Redis Cluster (each with a
 * replica) and on a Sentinel deployment: scripts, leases, tombstones, locks, counters, SCAN and
 * the event bus behave as on one server.
 */
// Generous: WAIT gets 60 % of it, and the cluster shares 2 loaded cores with the rest (at 1 s a
// CI run once saw WAIT answer 0 of 1 replicas after 600 ms).
const TIMEOUT_MS = 3000;
const MAX_LEN = 20;
const REDIS_NODE_ENTRIES = 100;

const SCRIPTS = {
  INCR_WITH_EXPIRY_LUA,
  INVALIDATE_VERSIONED_LUA,
  OVERLAY_ACCUMULATE_LUA,
  PUBLISH_LUA,
  SHARDED_PUBLISH_LUA,
  RELEASE_LOCK_LUA,
  SET_IF_NEWER_LUA,
};

let cluster: RedisClusterHarness;
let sentinel: RedisSentinelHarness;
beforeAll(async () => {
  [cluster, sentinel] = await Promise.all([startRedisCluster(), startRedisSentinel()]);
}, 60_000);
afterAll(async () => {
  await Promise.all([cluster?.stop(), sentinel?.stop()]);
});

const clusterTopology = () => topologyFromSettings({ REDIS_CLUSTER_NODES: cluster.seeds });
const sentinelTopology = () =>
  topologyFromSettings({ REDIS_SENTINELS: sentinel.sentinels, REDIS_SENTINEL_NAME: sentinel.name });

for (const [name, topology, prefix] of [
  ["redis cluster (3 masters + 3 replicas)", clusterTopology, () => cluster.prefix],
  ["redis sentinel (master + replica, 3 sentinels)", sentinelTopology, () => sentinel.prefix],
] as const) {
  cacheStoreContract(name, async () => {
    const store = new RedisCacheStore({
      topology: topology(),
      timeoutMs: TIMEOUT_MS,
      streamMaxLen: 100,
    });
    await store.ping();
    return { store, prefix: prefix(), teardown: () => store.close() };
  });
  eventBusContract(name, async () => {
    const bus = new RedisEventBus({
      topology: topology(),
      timeoutMs: TIMEOUT_MS,
      streamMaxLen: MAX_LEN,
    });
    return {
      bus,
      maxLen: MAX_LEN,
      windowSlack: REDIS_NODE_ENTRIES,
      prefix: prefix(),
      teardown: () => bus.close(),
    };
  });
}

describe("Redis Cluster specifics", () => {
  test("keys spread over every master; scanCount counts on every master; mget spans slots", async () => {
    const store = new RedisCacheStore({
      topology: clusterTopology(),
      timeoutMs: TIMEOUT_MS,
      streamMaxLen: 100,
    });
    try {
      const keys = Array.from({ length: 300 }, (_, i) => `${cluster.prefix}spread:${i}`);
      await Promise.all(keys.map((k, i) => store.set(k, String(i), 60)));
      const masters = await cluster.masters();
      const owners = new Set(
        await Promise.all(keys.slice(0, 30).map(async (k) => (await cluster.masterOf(k)).port)),
      );
      expect(owners.size).toBe(masters.length);
      expect(new Set(keys.map((k) => calculateSlot(k))).size).toBeGreaterThan(250);
      expect(await store.scanCount(`${cluster.prefix}spread:*`)).toBe(300);
      const values = await store.mget(keys);
      expect(values).toEqual(keys.map((_, i) => String(i)));
      // A key of another type reads as MGET answers it, nil (a write-behind overlay hash of the
      // previous format), not as a failed read of every key beside it.
      const hash = `${cluster.prefix}spread:hash`;
      await store.client.hset(hash, { gen: "1" });
      expect(await store.mget([keys[0] as string, hash])).toEqual(["0", null]);
    } finally {
      await store.close();
    }
  });

  test("every script touches exactly one key, KEYS[1]; the cluster refuses one touching a key on another node", async () => {
    // Static: each redis.call's key argument is KEYS[1] (PUBLISH/SPUBLISH take the channel,
    // which is KEYS[1] too, so it shares the slot).
    for (const [name, lua] of Object.entries(SCRIPTS)) {
      const calls = [...lua.matchAll(/redis\.call\('(\w+)',\s*([^,)]+)/g)];
      expect(calls.length).toBeGreaterThan(0);
      for (const [, command, key] of calls)
        expect([name, command, key]).toEqual([name, command, "KEYS[1]"]);
    }
    // Dynamic: what the cluster does with a script that breaks the rule.
    const store = new RedisCacheStore({
      topology: clusterTopology(),
      timeoutMs: TIMEOUT_MS,
      streamMaxLen: 100,
    });
    try {
      await store.ping();
      const a = `${cluster.prefix}a`;
      const home = (await cluster.masterOf(a)).port;
      let other = `${cluster.prefix}b`;
      for (let i = 0; (await cluster.masterOf(other)).port === home; i++)
        other = `${cluster.prefix}b${i}`;
      const script = "return redis.call('GET', ARGV[1])";
      expect(store.client.eval(script, 1, a, other)).rejects.toThrow();
    } finally {
      await store.close();
    }
  });
});
