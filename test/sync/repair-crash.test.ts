import { describe, expect, test } from "bun:test";
import { ownsRedis } from "../support/redis-server";
import { createTestStack, type TestStack } from "../support/stack";
import { cacheOf, dbVersionOf, SUBJECTS } from "./collections";

/**
 * Crash injection on the repair path, for every cached collection: a write whose cache write
 * Redis could not take leaves a durable debt (cache_repairs); the instance dies before Redis
 * returns, so nothing in its memory survives; the next instance settles the debt before it
 * trusts Redis, and the older entry Redis still holds is never served.
 */
describe.each(SUBJECTS)("crash between a deferred write-through and its repair ($name)", (s) => {
  test.if(ownsRedis)(
    "the next instance repairs before serving: the older entry is never read",
    async () => {
      const first: TestStack = await createTestStack({
        env: { REDIS_TIMEOUT_MS: 150, BREAKER_COOLDOWN_MS: 60_000, MONGO_TIMEOUT_MS: 1000 },
      });
      try {
        await crashThenRestart(first);
      } finally {
        await first.close();
      }
    },
  );

  async function crashThenRestart(first: TestStack) {
    const d = await s.seed(first.ctx);
    const key = cacheOf(first.ctx, s).engine.key(d.id);
    await cacheOf(first.ctx, s).get(d.id);
    const older = (await first.stores.cache.get(key)) as string;
    expect(JSON.parse(older).version).toBe(d.version);
    await first.redis?.pause();
    let written: number | undefined;
    try {
      const after = await cacheOf(first.ctx, s).update(d.id, { $set: { [s.field]: "during" } });
      written = after?.version;
    } finally {
      // The crash: the instance is gone before its breaker's probe could repair anything.
      first.ctx.use("cacheEngine").breaker.stop();
      await first.redis?.resume();
    }
    expect(written).toBe(d.version + 1);
    // Whether or not the timed-out write reached Redis late, Redis may hold the older entry
    // (a write it lost): put it there. Only the durable debt knows.
    await first.stores.cache.set(key, older, 600);
    expect(
      await first.ctx.stores.db.collection("cache_repairs").countDocuments({}),
    ).toBeGreaterThan(0);

    const next = await createTestStack({
      redis: first.redis,
      mongo: first.mongo,
      dbName: first.dbName,
      env: { CACHE_PREFIX: first.config.CACHE_PREFIX },
    });
    try {
      // onReady settled the debt: the first read on the new instance gets the write.
      const read = await cacheOf(next.ctx, s).get(d.id);
      expect(read?.version).toBe(await dbVersionOf(next.ctx, s, d.id));
      expect(read?.[s.field]).toBe("during");
      expect(await next.ctx.stores.db.collection("cache_repairs").countDocuments({})).toBe(0);
    } finally {
      await next.close();
    }
  }
});
