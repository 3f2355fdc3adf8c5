import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { emailKey } from "../../plugins/cache/cache-sync/keys";
import {
  createUser,
  rawKeys,
  rawRedis,
  type TestUser,
  tamperBalance,
  userKeyOf,
} from "../support/fixtures";
import { createTestStack, type TestStack } from "../support/stack";

const MISSING_ID = "0123456789abcdef01234567";

describe("admin cache routes (SPEC §5)", () => {
  let stack: TestStack;
  let redis: ReturnType<typeof rawRedis>;
  let admin: TestUser;
  let user: TestUser;

  beforeAll(async () => {
    stack = await createTestStack();
    redis = rawRedis(stack);
    admin = await createUser(stack, { role: "admin" });
    user = await createUser(stack, { balance: 2500 });
  });
  afterAll(async () => {
    redis?.disconnect();
    await stack?.close();
  });

  const routes = () =>
    [
      ["GET", "/api/v1/cache/stats", undefined],
      ["POST", `/api/v1/cache/validate/${user.id}`, undefined],
      ["POST", `/api/v1/cache/sync/${user.id}`, undefined],
      ["POST", `/api/v1/cache/invalidate/${user.id}`, undefined],
      ["POST", "/api/v1/cache/bulk-sync", { userIds: [user.id] }],
    ] as const;

  test("every route: 401 without or with a bad token, 403 for a non-admin", async () => {
    for (const [method, path, body] of routes()) {
      const none = await stack.call(method, path, { body });
      expect([path, none.status]).toEqual([path, 401]);
      expect((await none.json()).success).toBe(false);
      expect((await stack.call(method, path, { body, token: `${admin.token}x` })).status).toBe(401);
      const forbidden = await stack.call(method, path, { body, token: user.token });
      expect([path, forbidden.status]).toEqual([path, 403]);
      expect((await forbidden.json()).error.code).toBe("FORBIDDEN");
    }
  });

  test("malformed ids and bodies get the 400 envelope", async () => {
    for (const op of ["validate", "sync", "invalidate"]) {
      for (const bad of ["123", "zzzzzzzzzzzzzzzzzzzzzzzz", `${user.id}0`]) {
        const res = await stack.call("POST", `/api/v1/cache/${op}/${bad}`, { token: admin.token });
        expect([op, bad, res.status]).toEqual([op, bad, 400]);
        expect((await res.json()).error.code).toBe("VALIDATION_ERROR");
      }
    }
    const bodies: unknown[] = [
      {},
      { userIds: [] },
      { userIds: ["nope"] },
      { userIds: user.id },
      { userIds: Array.from({ length: 1001 }, () => user.id) },
      "{not json",
    ];
    for (const body of bodies) {
      const res = await stack.call("POST", "/api/v1/cache/bulk-sync", { token: admin.token, body });
      expect(res.status).toBe(400);
      expect((await res.json()).success).toBe(false);
    }
  });

  test("POST /cache/sync/:userId rebuilds the entry and answers the sanitized user; 404 when unknown", async () => {
    await redis.del(userKeyOf(stack, user.id));
    const res = await stack.call("POST", `/api/v1/cache/sync/${user.id}`, { token: admin.token });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.message).toBe("User cache synced successfully");
    expect(body.data).toMatchObject({
      id: user.id,
      email: user.email,
      wallet: { balance: 2500, currency: "USD" },
    });
    expect(body.data._id).toBeUndefined();
    expect(body.data.passwordHash).toBeUndefined();
    const cached = JSON.parse((await redis.get(userKeyOf(stack, user.id))) ?? "null");
    expect(cached).toMatchObject({ id: user.id, version: body.data.version });
    expect(JSON.stringify(cached)).not.toContain("passwordHash");

    const missing = await stack.call("POST", `/api/v1/cache/sync/${MISSING_ID}`, {
      token: admin.token,
    });
    expect(missing.status).toBe(404);
    expect((await missing.json()).success).toBe(false);
  });

  test("POST /cache/validate/:userId: consistent, then a tampered balance is found, reported (db − cached) and fixed", async () => {
    await stack.call("POST", `/api/v1/cache/sync/${user.id}`, { token: admin.token });
    const clean = await stack.call("POST", `/api/v1/cache/validate/${user.id}`, {
      token: admin.token,
    });
    expect(clean.status).toBe(200);
    expect(await clean.json()).toEqual({ success: true, data: { consistent: true } });

    await tamperBalance(stack, redis, user.id, 999_999);
    const dirty = await stack.call("POST", `/api/v1/cache/validate/${user.id}`, {
      token: admin.token,
    });
    expect(await dirty.json()).toEqual({
      success: true,
      data: { consistent: false, action: "fixed", difference: 2500 - 999_999 },
    });
    const repaired = JSON.parse((await redis.get(userKeyOf(stack, user.id))) ?? "null");
    expect(repaired.wallet.balance).toBe(2500);

    const again = await stack.call("POST", `/api/v1/cache/validate/${user.id}`, {
      token: admin.token,
    });
    expect((await again.json()).data).toEqual({ consistent: true });
  });

  test("POST /cache/invalidate/:userId removes the entries", async () => {
    await stack.call("POST", `/api/v1/cache/sync/${user.id}`, { token: admin.token });
    expect(await stack.ctx.stores.cache.get(userKeyOf(stack, user.id))).not.toBeNull();
    const res = await stack.call("POST", `/api/v1/cache/invalidate/${user.id}`, {
      token: admin.token,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      success: true,
      data: { invalidated: true },
      message: "Cache invalidated successfully",
    });
    expect(await stack.ctx.stores.cache.get(userKeyOf(stack, user.id))).toBeNull();
    expect(await redis.get(emailKey(stack.config.CACHE_PREFIX, user.email))).toBeNull();
  });

  test("POST /cache/bulk-sync counts succeeded and failed", async () => {
    const other = await createUser(stack);
    // One key per command: on a cluster (REDIS_TOPOLOGY=cluster) the two may be on other slots.
    for (const k of [userKeyOf(stack, user.id), userKeyOf(stack, other.id)]) await redis.del(k);
    const res = await stack.call("POST", "/api/v1/cache/bulk-sync", {
      token: admin.token,
      body: { userIds: [user.id, other.id, MISSING_ID] },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      success: true,
      data: { succeeded: 2, failed: 1, total: 3 },
      message: "Bulk sync completed",
    });
    expect(
      (await redis.exists(userKeyOf(stack, user.id))) +
        (await redis.exists(userKeyOf(stack, other.id))),
    ).toBe(2);
  });

  test("GET /cache/stats counts id and email keys with SCAN and reports hits and misses", async () => {
    const third = await createUser(stack);
    await stack.call("POST", "/api/v1/cache/bulk-sync", {
      token: admin.token,
      body: { userIds: [user.id, admin.id, third.id] },
    });
    const cacheSync = stack.ctx.use("cacheSync");
    await redis.del(userKeyOf(stack, third.id));
    await cacheSync.getUserWithSync(third.id); // miss, fill
    await cacheSync.getUserWithSync(third.id); // hit

    const res = await stack.call("GET", "/api/v1/cache/stats", { token: admin.token });
    expect(res.status).toBe(200);
    const { data } = await res.json();
    const ids = await rawKeys(redis, `${stack.config.CACHE_PREFIX}user:*`); // test-side cross-check only
    const emailKeys = ids.filter((k) => k.includes(":user:email:")).length;
    expect(data).toMatchObject({
      totalUserKeys: ids.length - emailKeys,
      emailKeys,
      redisConnected: true,
    });
    expect(data.totalUserKeys).toBeGreaterThanOrEqual(3);
    expect(data.hits).toBeGreaterThanOrEqual(1);
    expect(data.misses).toBeGreaterThanOrEqual(1);
    expect(data.hitRatio).toBeCloseTo(data.hits / (data.hits + data.misses), 10);
    expect(Number.isNaN(Date.parse(data.timestamp))).toBe(false);
  });
});
