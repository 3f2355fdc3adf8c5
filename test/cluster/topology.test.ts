import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Cluster } from "ioredis";
import { userKey } from "../../plugins/cache/cache-sync";
import { RedisCacheStore } from "../../src/adapters/redis/redis-cache-store";
import { topologyFromSettings } from "../../src/adapters/redis/topology";
import { ConfigError, loadConfig } from "../../src/core/config";
import { createUser } from "../support/fixtures";
import { type MongoWireServer, startMongoWire } from "../support/mongo-wire";
import { type RedisClusterHarness, startRedisCluster } from "../support/redis-cluster";
import { harnessOnCluster } from "../support/redis-server";
import { createTestStack, type TestStack } from "../support/stack";

/**
 * The API on a 6-node Redis Cluster reached through REDIS_URL at one node (detected, used as a
 * seed): user keys land on every master, /cache/stats counts every master, /ready tells the truth.
 */
let cluster: RedisClusterHarness;
let mongo: MongoWireServer;
let stack: TestStack;
beforeAll(async () => {
  [cluster, mongo] = await Promise.all([startRedisCluster(), startMongoWire()]);
  stack = await createTestStack({
    redis: harnessOnCluster(cluster, { env: { REDIS_URL: cluster.url } }),
    mongo,
    env: {
      ADMIN_EMAIL: "admin@cachesync.test",
      ADMIN_PASSWORD: "admin-password-1",
      // WAIT gets 60 % of it: at the default 150 ms (and once in a clean CI run at 1 s) a loaded
      // 2-core machine answered "0 of 1 replicas", the write became a repair, the breaker opened
      // and reads stopped filling (1 key cached of 45). 3 s as in test/cluster/contracts.
      REDIS_TIMEOUT_MS: 3000,
    },
  });
}, 60_000);
afterAll(async () => {
  await stack?.close();
  await mongo?.close();
  await cluster?.stop();
});

describe("configuration", () => {
  test("more than one topology is refused naming both variables", () => {
    for (const env of [
      { REDIS_URL: "redis://a:6379", REDIS_CLUSTER_NODES: "a:7000,b:7001" },
      { REDIS_URL: "redis://a:6379", REDIS_SENTINELS: "a:26379", REDIS_SENTINEL_NAME: "m" },
      { REDIS_CLUSTER_NODES: "a:7000", REDIS_SENTINELS: "a:26379", REDIS_SENTINEL_NAME: "m" },
    ]) {
      const names = Object.keys(env).filter((k) => k !== "REDIS_SENTINEL_NAME");
      let err: unknown;
      try {
        loadConfig(env);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      for (const n of names) expect((err as Error).message).toContain(n);
    }
  });

  test("REDIS_SENTINELS needs REDIS_SENTINEL_NAME; node lists must be host:port or redis URLs", () => {
    expect(() => loadConfig({ REDIS_SENTINELS: "a:26379" })).toThrow(/REDIS_SENTINEL_NAME/);
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: "a" })).toThrow(/REDIS_CLUSTER_NODES/);
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: "http://a:1" })).toThrow(/REDIS_CLUSTER_NODES/);
    const c = loadConfig({ REDIS_CLUSTER_NODES: "rediss://u:p@a:7000,b:7001" });
    expect(c.REDIS_CLUSTER_NODES).toBe("rediss://u:p@a:7000,b:7001");
  });
});

describe("credentials and TLS reach every topology's connections", () => {
  const opts = { timeoutMs: 100, streamMaxLen: 10, onError: () => {} };
  test("cluster: user:password@ and rediss:// from the node list", async () => {
    const topology = topologyFromSettings({
      REDIS_CLUSTER_NODES: "rediss://app:s%40cret@127.0.0.1:1,127.0.0.1:2",
    });
    expect(topology).toEqual({
      mode: "cluster",
      nodes: [
        { host: "127.0.0.1", port: 1 },
        { host: "127.0.0.1", port: 2 },
      ],
      auth: { username: "app", password: "s@cret", tls: true },
    });
    const store = new RedisCacheStore({ ...opts, topology });
    const client = store.client as Cluster;
    expect(client.options.redisOptions).toMatchObject({
      username: "app",
      password: "s@cret",
      tls: {},
    });
    await store.close();
  });

  test("sentinel: data-node credentials and TLS from the URL, the sentinels' own password", async () => {
    const topology = topologyFromSettings({
      REDIS_SENTINELS: "rediss://app:pw@127.0.0.1:1",
      REDIS_SENTINEL_NAME: "m",
      REDIS_SENTINEL_PASSWORD: "sentinel-pw",
    });
    const store = new RedisCacheStore({ ...opts, topology });
    expect(store.client.options).toMatchObject({
      name: "m",
      username: "app",
      password: "pw",
      tls: {},
      sentinelPassword: "sentinel-pw",
      enableTLSForSentinelMode: true,
    });
    await store.close();
  });

  test("standalone: the URL as given (ioredis reads user:password@ and rediss:// from it)", () => {
    expect(topologyFromSettings({ REDIS_URL: "rediss://u:p@h:6380" })).toEqual({
      mode: "standalone",
      url: "rediss://u:p@h:6380",
    });
  });
});

describe("the API on a Redis Cluster", () => {
  test("REDIS_URL at a cluster node is detected and used as a seed: reads are cached, /ready is up", async () => {
    expect(stack.stores.cache.kind).toBe("redis");
    const { default: Redis } = await import("ioredis");
    const client = (stack.stores.cache as RedisCacheStore).client;
    expect(client).not.toBeInstanceOf(Redis); // a Cluster client
    const res = await stack.call("GET", "/ready");
    expect(res.status).toBe(200);
    expect((await res.json()).data).toMatchObject({ mongo: "up", redis: "up" });
  });

  test("user keys spread over every master and /cache/stats counts them all", async () => {
    const admin = await stack.call("POST", "/api/v1/auth/login", {
      body: { email: "admin@cachesync.test", password: "admin-password-1" },
    });
    const token = (await admin.json()).data.token as string;
    const users = [];
    for (let i = 0; i < 45; i++) users.push(await createUser(stack));
    // GET /users/:id reads through the cache (GET /users/me answers from the session's account).
    for (const u of users) {
      const read = await stack.call("GET", `/api/v1/users/${u.id}`, { token: u.token });
      expect(read.status).toBe(200);
    }
    const owners = new Map<number, number>();
    for (const u of users) {
      const port = (await cluster.masterOf(userKey(stack.config.CACHE_PREFIX, u.id))).port;
      owners.set(port, (owners.get(port) ?? 0) + 1);
    }
    expect(owners.size).toBe(3);
    const stats = await stack.call("GET", "/api/v1/cache/stats", { token });
    expect(stats.status).toBe(200);
    const data = (await stats.json()).data;
    // Every user read above is cached (plus the admin's own entry, which login may have filled).
    expect(data.totalUserKeys).toBeGreaterThanOrEqual(45);
    expect(data.redisConnected).toBe(true);
    console.log(
      `[cluster] 45 users over masters: ${[...owners.values()].join(" / ")}; /cache/stats totalUserKeys=${data.totalUserKeys} emailKeys=${data.emailKeys}`,
    );
  }, 30_000);

  test("a standalone connection to a cluster node is not 'up' (every keyed command would get MOVED)", async () => {
    const store = new RedisCacheStore({ url: cluster.url, timeoutMs: 300, streamMaxLen: 10 });
    try {
      expect(store.ping()).rejects.toThrow();
    } finally {
      await store.close();
    }
  });

  test("/ready says Redis is down while a master is dead, up again once its replica took over", async () => {
    const victim = (await cluster.masters())[0];
    if (!victim) throw new Error("no master");
    const seen: number[] = [];
    const failoverMs = await cluster.failover(victim, {
      afterKill: async () => {
        await Bun.sleep(200);
        seen.push((await stack.call("GET", "/ready")).status);
      },
    });
    let status = 0;
    const deadline = Date.now() + 10_000;
    while (status !== 200 && Date.now() < deadline) {
      status = (await stack.call("GET", "/ready")).status;
      await Bun.sleep(100);
    }
    expect(seen).toEqual([503]);
    expect(status).toBe(200);
    console.log(
      `[cluster] /ready 503 during the failover (${Math.round(failoverMs)} ms), then 200`,
    );
    await victim.restart();
    await cluster.waitHealthy();
  }, 60_000);
});
