import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MemoryCacheStore } from "../../src/adapters/memory/memory-cache-store";
import { RedisCacheStore } from "../../src/adapters/redis/redis-cache-store";
import { StoreUnavailableError } from "../../src/core/errors";
import { TOMBSTONE_FIELD } from "../../src/core/ports/cache-store";
import { ownsRedis, type RedisHarness, startRedis } from "../support/redis-server";
import { cacheStoreContract } from "./cache-store.contract";

const TIMEOUT_MS = 150;

cacheStoreContract("memory", async () => {
  const store = new MemoryCacheStore();
  return { store, prefix: "t:", teardown: () => store.close() };
});

cacheStoreContract("redis", async () => {
  const redis = await startRedis();
  const store = new RedisCacheStore({ ...redis.adapter, timeoutMs: TIMEOUT_MS, streamMaxLen: 100 });
  await store.ping();
  return {
    store,
    prefix: redis.prefix,
    teardown: async () => {
      await store.close();
      await redis.stop();
    },
  };
});

describe("RedisCacheStore: the tombstone on the wire", () => {
  let redis: RedisHarness;
  let store: RedisCacheStore;
  beforeAll(async () => {
    redis = await startRedis();
    store = new RedisCacheStore({ ...redis.adapter, timeoutMs: TIMEOUT_MS, streamMaxLen: 100 });
  });
  afterAll(async () => {
    await store.close();
    await redis.stop();
  });

  test('invalidateVersioned stores exactly {"__tombstone":true,"version":N} with a PX expiry', async () => {
    const k = `${redis.prefix}wire`;
    await store.setIfNewer(
      k,
      JSON.stringify({ id: "u", version: 1_700_000_000_123 }),
      1_700_000_000_123,
      60,
    );
    await store.invalidateVersioned(k, 4, 2_500);
    expect(await store.client.get(k)).toBe(`{"${TOMBSTONE_FIELD}":true,"version":1700000000123}`);
    const pttl = await store.client.pttl(k);
    expect(pttl).toBeGreaterThan(2_000);
    expect(pttl).toBeLessThanOrEqual(2_500);
  });

  test("a tombstone written by another instance is honoured", async () => {
    const k = `${redis.prefix}foreign`;
    await store.client.set(
      k,
      JSON.stringify({ [TOMBSTONE_FIELD]: true, version: 30 }),
      "PX",
      10_000,
    );
    expect(await store.get(k)).toBeNull();
    expect(await store.setIfNewer(k, JSON.stringify({ version: 29 }), 29, 60)).toBe(false);
    expect(await store.setIfNewer(k, JSON.stringify({ version: 30 }), 30, 60)).toBe(true);
  });
});

/** Resolves with how long `op` took to reject; fails the test if it resolves. */
async function rejectionTime(op: () => Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = performance.now();
  const error = await op().then(
    () => new Error("expected a rejection"),
    (e: unknown) => e,
  );
  return { ms: performance.now() - started, error };
}

async function eventually(op: () => Promise<unknown>, withinMs: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    try {
      await op();
      return performance.now() - started;
    } catch (err) {
      if (performance.now() - started > withinMs) throw err;
      await Bun.sleep(25);
    }
  }
}

describe("RedisCacheStore: Redis unreachable", () => {
  test("constructed against a port nobody listens on: no throw, calls reject fast with StoreUnavailableError", async () => {
    const redis = await startRedis();
    const url = redis.url;
    // Whatever the mode, this port is free once the owned server is gone; with REDIS_URL use a closed port.
    await redis.stop();
    const deadUrl = redis.owned ? url : "redis://127.0.0.1:1";
    const store = new RedisCacheStore({ url: deadUrl, timeoutMs: TIMEOUT_MS, streamMaxLen: 100 });
    try {
      const { ms, error } = await rejectionTime(() => store.get("k"));
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as StoreUnavailableError).store).toBe("redis");
      expect(ms).toBeLessThan(1_000);
      expect(store.isConnected()).toBe(false);
      const again = await rejectionTime(() => store.setIfNewer("k", '{"version":1}', 1, 60));
      expect(again.error).toBeInstanceOf(StoreUnavailableError);
      expect(again.ms).toBeLessThan(1_000);
    } finally {
      await store.close();
      await store.close();
    }
  });
});

describe("RedisCacheStore: faults on an owned redis-server", () => {
  let redis: RedisHarness | undefined;
  let store: RedisCacheStore;

  beforeAll(async () => {
    if (!ownsRedis) return;
    redis = await startRedis();
    store = new RedisCacheStore({ ...redis.adapter, timeoutMs: TIMEOUT_MS, streamMaxLen: 100 });
    await store.ping();
  });
  afterAll(async () => {
    await store?.close();
    await redis?.stop();
  });

  test.if(ownsRedis)(
    "paused (SIGSTOP): a call rejects within the timeout; after SIGCONT it works again",
    async () => {
      await store.set("k", "before", 60);
      redis!.pause();
      try {
        const { ms, error } = await rejectionTime(() => store.get("k"));
        console.log(
          `paused redis: get rejected after ${ms.toFixed(0)} ms (timeoutMs ${TIMEOUT_MS})`,
        );
        expect(error).toBeInstanceOf(StoreUnavailableError);
        expect(ms).toBeLessThan(1_000);
        const script = await rejectionTime(() => store.setIfNewer("v", '{"version":1}', 1, 60));
        expect(script.error).toBeInstanceOf(StoreUnavailableError);
        expect(script.ms).toBeLessThan(1_000);
      } finally {
        redis!.resume();
      }
      const ms = await eventually(async () => expect(await store.get("k")).toBe("before"), 2_000);
      console.log(`resumed redis: get worked again after ${ms.toFixed(0)} ms`);
    },
  );

  test.if(ownsRedis)(
    "killed: calls reject fast; restarted: the adapter reconnects by itself",
    async () => {
      await store.set("k", "before", 60);
      await redis!.kill();
      const { ms, error } = await rejectionTime(() => store.get("k"));
      console.log(`killed redis: get rejected after ${ms.toFixed(0)} ms`);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(ms).toBeLessThan(1_000);
      // Stays down a while, so the client is deep in its reconnect backoff when Redis returns.
      await Bun.sleep(1_000);
      const down = await rejectionTime(() => store.ping());
      expect(down.error).toBeInstanceOf(StoreUnavailableError);
      expect(down.ms).toBeLessThan(1_000);

      await redis!.restart();
      const back = await eventually(() => store.ping(), 5_000);
      console.log(`restarted redis: adapter usable again after ${back.toFixed(0)} ms`);
      expect(store.isConnected()).toBe(true);
      // Like a real crash: the data is gone, and the cache simply misses.
      expect(await store.get("k")).toBeNull();
      expect(await store.setIfNewer("k", '{"version":1}', 1, 60)).toBe(true);
    },
  );
});
