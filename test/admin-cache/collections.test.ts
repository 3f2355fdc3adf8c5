import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { createUser, type TestUser } from "../support/fixtures";
import { createTestStack, type TestStack } from "../support/stack";
import { callJson } from "../support/users";
import { cacheOf, SUBJECTS } from "../sync/collections";

/** `/cache/{collection}/…` (SPEC §8): the §5 operations for every declared collection. */
let stack: TestStack;
let admin: TestUser;

beforeAll(async () => {
  stack = await createTestStack();
  admin = await createUser(stack, { role: "admin" });
});
afterAll(() => stack.close());

const call = (method: string, path: string, body?: unknown) =>
  callJson(stack, method, `/api/v1/cache/${path}`, { token: admin.token, body });

describe.each(SUBJECTS)("admin cache routes for $name", (s) => {
  const key = (id: string) => cacheOf(stack.ctx, s).engine.key(id);

  test("validate repairs a tampered entry; a consistent one is left alone", async () => {
    const d = await s.seed(stack.ctx);
    await cacheOf(stack.ctx, s).get(d.id);
    expect((await call("POST", `${s.name}/validate/${d.id}`)).body.data).toEqual({
      consistent: true,
    });
    const entry = JSON.parse((await stack.stores.cache.get(key(d.id))) as string);
    await stack.stores.cache.set(
      key(d.id),
      JSON.stringify({ ...entry, [s.field]: "tampered" }),
      60,
    );
    const r = await call("POST", `${s.name}/validate/${d.id}`);
    expect(r.body.data).toEqual({ consistent: false, action: "fixed" });
    expect((await cacheOf(stack.ctx, s).get(d.id))?.[s.field]).not.toBe("tampered");
  });

  test("invalidate empties the entry, sync rebuilds it, bulk-sync counts, stats count keys", async () => {
    const d = await s.seed(stack.ctx);
    await cacheOf(stack.ctx, s).get(d.id);
    const inv = await call("POST", `${s.name}/invalidate/${d.id}`);
    expect(inv.body).toEqual({
      success: true,
      data: { invalidated: true },
      message: "Cache invalidated successfully",
    });
    expect(await stack.stores.cache.get(key(d.id))).toBeNull();
    const synced = await call("POST", `${s.name}/sync/${d.id}`);
    expect(synced.body.data).toMatchObject({ id: d.id, version: d.version });
    expect(JSON.parse((await stack.stores.cache.get(key(d.id))) as string).version).toBe(d.version);
    const unknown = new ObjectId().toHexString();
    const bulk = await call("POST", `${s.name}/bulk-sync`, { ids: [d.id, d.id, unknown] });
    expect(bulk.body.data).toEqual({ succeeded: 1, failed: 1, total: 2 });
    const stats = await call("GET", `${s.name}/stats`);
    expect(stats.body.data).toMatchObject({ collection: s.name, redisConnected: true });
    expect(stats.body.data.keys).toBeGreaterThanOrEqual(1);
    expect((await call("POST", `${s.name}/sync/${unknown}`)).status).toBe(404);
  });
});

test("an undeclared collection is 404 COLLECTION_NOT_FOUND; a non-admin is 403", async () => {
  const r = await call("GET", "ledger/stats");
  expect([r.status, r.body.error?.code]).toEqual([404, "COLLECTION_NOT_FOUND"]);
  const user = await createUser(stack);
  const denied = await callJson(stack, "GET", "/api/v1/cache/listings/stats", {
    token: user.token,
  });
  expect(denied.status).toBe(403);
});
