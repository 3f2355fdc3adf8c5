import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MemoryCacheStore } from "../../src/adapters/memory/memory-cache-store";
import { RedisCacheStore } from "../../src/adapters/redis/redis-cache-store";
import { createLocks, type Locks } from "../../src/core/locks";
import type { LockStore } from "../../src/core/ports/lock-store";
import { startRedis } from "../support/redis-server";

/** The locks service every plugin uses, on both lock stores. */
function locksContract(
  name: string,
  open: () => Promise<{ store: LockStore; prefix: string; stop(): Promise<void> }>,
) {
  describe(`locks service on ${name}`, () => {
    let store: LockStore;
    let stop: () => Promise<void>;
    let a: Locks;
    let b: Locks;
    let n = 0;
    const lockName = () => `job-${++n}`;

    beforeAll(async () => {
      const opened = await open();
      store = opened.store;
      stop = opened.stop;
      // Two instances of the app sharing one store.
      a = createLocks(store, opened.prefix);
      b = createLocks(store, opened.prefix);
    });
    afterAll(() => stop());

    test("one holder at a time; released, the next caller takes it", async () => {
      const name = lockName();
      const held = await a.acquire(name, 5_000);
      expect(held).not.toBeNull();
      expect(await b.acquire(name, 5_000)).toBeNull();
      await held?.release();
      const next = await b.acquire(name, 5_000);
      expect(next).not.toBeNull();
      await next?.release();
    });

    test("a release by someone who lost the lock to its TTL leaves the new holder's lock", async () => {
      const name = lockName();
      const first = await a.acquire(name, 50);
      await Bun.sleep(120);
      const second = await b.acquire(name, 5_000);
      expect(second).not.toBeNull();
      await first?.release();
      expect(await a.acquire(name, 5_000)).toBeNull();
      await second?.release();
    });

    test("withLock runs fn once while another holder waits out, and releases on a throw", async () => {
      const name = lockName();
      let runs = 0;
      const [x, y] = await Promise.all([
        a.withLock(name, 5_000, async () => {
          runs++;
          await Bun.sleep(30);
          return "x";
        }),
        b.withLock(name, 5_000, async () => {
          runs++;
          await Bun.sleep(30);
          return "y";
        }),
      ]);
      expect(runs).toBe(1);
      expect([x.held, y.held].sort()).toEqual([false, true]);
      await expect(
        a.withLock(name, 5_000, async () => {
          throw new Error("boom");
        }),
      ).rejects.toThrow("boom");
      expect((await b.withLock(name, 5_000, async () => 1)).held).toBe(true);
    });

    test("claimOnce: the first claim of a name wins, every later one fails until it expires", async () => {
      const name = `ticket:${lockName()}`;
      const claims = await Promise.all([a.claimOnce(name, 200), b.claimOnce(name, 200)]);
      expect(claims.sort()).toEqual([false, true]);
      expect(await a.claimOnce(name, 200)).toBe(false);
    });
  });
}

locksContract("memory", async () => {
  const store = new MemoryCacheStore();
  return { store, prefix: "t:", stop: () => store.close() };
});

locksContract("redis", async () => {
  const redis = await startRedis();
  const store = new RedisCacheStore({ ...redis.adapter, timeoutMs: 500, streamMaxLen: 100 });
  await store.ping();
  return {
    store,
    prefix: redis.prefix,
    stop: async () => {
      await store.close();
      await redis.stop();
    },
  };
});
