import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { seedUser } from "../support/seed";
import { createTestStack, type TestStack } from "../support/stack";
import { describeStaleCheck, runStaleCheck, serviceInstance } from "../support/stale-checker";

/**
 * The stale-read checker on write-through fields while write-behind runs beside it: two API
 * instances on one Redis and one MongoDB, writers and readers on a hot user (write-through of
 * `bio`, invalidations, evictions), and the same users' `lastSeenAt` queued all along with both
 * instances flushing (each flush a MongoDB write that moves the version and the cache entry).
 */
describe("write-behind beside write-through: the stale-read checker", () => {
  let a: TestStack;
  let b: TestStack;
  beforeAll(async () => {
    const env = { REDIS_TIMEOUT_MS: 1000, MONGO_TIMEOUT_MS: 5000, WRITE_BEHIND_FLUSH_MS: 20 };
    a = await createTestStack({ env });
    b = await createTestStack({ env, redis: a.redis, mongo: a.mongo, dbName: a.dbName });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  test("0 stale reads of write-through fields while lastSeenAt is queued and flushed", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await seedUser(a.ctx)).id);
    let queued = 0;
    const r = await runStaleCheck({
      instances: [
        serviceInstance("a", a.ctx.use("cacheSync")),
        serviceInstance("b", b.ctx.use("cacheSync")),
      ],
      userIds: ids,
      durationMs: 2500,
      writers: 4,
      evict: (id) => a.ctx.stores.cache.del([`${a.config.CACHE_PREFIX}user:${id}`]),
      fault: async ({ running }) => {
        while (running()) {
          const stack = queued % 2 ? a : b;
          await stack.ctx
            .use("writeBehind")
            .change("users", ids[queued % ids.length] as string, {
              latest: { lastSeenAt: Date.now() },
            })
            .catch(() => undefined);
          queued++;
          await Bun.sleep(1);
        }
      },
    });
    console.log(
      `[write-behind] stale check: ${describeStaleCheck(r)}; lastSeenAt queued ${queued}`,
    );
    expect(r.reads).toBeGreaterThan(100);
    expect(queued).toBeGreaterThan(100);
    expect(r.stale).toBe(0);
  }, 30_000);
});
