import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { CacheSyncService } from "../../plugins/cache/cache-sync";
import { userKey } from "../../plugins/cache/cache-sync";
import { seedUser } from "../support/seed";
import { createTestStack, type TestStack } from "../support/stack";

let stack: TestStack;
let svc: CacheSyncService;

beforeAll(async () => {
  stack = await createTestStack();
  svc = stack.ctx.use("cacheSync");
});
afterAll(() => stack.close());

const key = (id: string) => userKey(stack.config.CACHE_PREFIX, id);

describe("validateCacheConsistency, sync and bulk sync", () => {
  test("a missing entry is consistent; a matching one too", async () => {
    const u = await seedUser(stack.ctx);
    await svc.invalidateUserCache(u.id);
    expect(await svc.validateCacheConsistency(u.id)).toEqual({ consistent: true });
    await svc.getUserWithSync(u.id);
    expect(await svc.validateCacheConsistency(u.id)).toEqual({ consistent: true });
  });

  test("a tampered balance is fixed and the difference reported (db − cached)", async () => {
    const u = await seedUser(stack.ctx, { wallet: { balance: 500, currency: "USD" } });
    await svc.getUserWithSync(u.id);
    const entry = JSON.parse((await stack.stores.cache.get(key(u.id))) as string);
    entry.wallet.balance = 9999;
    await stack.stores.cache.set(key(u.id), JSON.stringify(entry), 60);
    expect(await svc.validateCacheConsistency(u.id)).toEqual({
      consistent: false,
      action: "fixed",
      difference: 500 - 9999,
    });
    expect((await svc.getUserWithSync(u.id))?.wallet.balance).toBe(500);
    expect(await svc.validateCacheConsistency(u.id)).toEqual({ consistent: true });
  });

  test("syncUser rebuilds from MongoDB; unknown → null", async () => {
    const u = await seedUser(stack.ctx);
    await stack.stores.cache.set(key(u.id), JSON.stringify({ ...u, bio: "tampered" }), 60);
    const synced = await svc.syncUser(u.id);
    expect(synced?.bio).toBe("");
    expect(JSON.parse((await stack.stores.cache.get(key(u.id))) as string).bio).toBe("");
    expect(await svc.syncUser("0123456789abcdef01234567")).toBeNull();
  });

  test("bulkSync counts successes and failures", async () => {
    const users = await Promise.all(Array.from({ length: 20 }, () => seedUser(stack.ctx)));
    const ids = [...users.map((u) => u.id), "0123456789abcdef01234567", "bad"];
    expect(await svc.bulkSync(ids)).toEqual({ succeeded: 20, failed: 2, total: 22 });
    for (const u of users) expect(await stack.stores.cache.get(key(u.id))).not.toBeNull();
  });
});
