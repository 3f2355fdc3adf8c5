import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import type { Doc } from "../../src/core/ports/document-store";
import { createUser, userKeyOf } from "../support/fixtures";
import { createTestStack, type TestStack } from "../support/stack";
import { assertMoneyInvariants } from "../wallet/invariants";
import { newListing, pluginsWith } from "./support";

/**
 * Write-throughs of a user (PATCH /users/me) interleaved with queued `lastSeenAt` changes and
 * flushes racing both: every read after an acknowledged PATCH shows it (never overwritten by a
 * queued change), and at the end the cache entry, MongoDB and what readers see are one document.
 */
async function interleave(stack: TestStack): Promise<void> {
  // No unledgered seed balance: the money invariants are asserted at the end.
  const user = await createUser(stack, { balance: 0 });
  const wb = stack.ctx.use("writeBehind");
  const engine = stack.ctx.use("cacheEngine");
  const t0 = Date.now();
  let latestQueued = 0;
  for (let i = 0; i < 40; i++) {
    const seen = t0 + i * 1000;
    latestQueued = seen;
    const [, patched] = await Promise.all([
      wb.change("users", user.id, { latest: { lastSeenAt: seen } }),
      stack.call("PATCH", "/api/v1/users/me", { token: user.token, body: { bio: `bio ${i}` } }),
      i % 3 === 0 ? wb.flush() : Promise.resolve(0),
      // An older time queued late must never win.
      wb.change("users", user.id, { latest: { lastSeenAt: t0 - 1000 } }),
    ]);
    expect(patched.status).toBe(200);
    const me = (await (await stack.call("GET", "/api/v1/users/me", { token: user.token })).json())
      .data.user;
    expect(me.bio).toBe(`bio ${i}`);
    // At least the time queued now (the request's own lastSeenAt may be later on i = 0).
    expect(Date.parse(me.lastSeenAt)).toBeGreaterThanOrEqual(seen);
    expect(me).not.toHaveProperty("_wb");
  }
  while ((await wb.report()).depth > 0) await wb.flush();

  const raw = await stack.ctx.stores.db
    .collection<Doc>("users")
    .findOne({ _id: new ObjectId(user.id) });
  expect(raw).not.toBeNull();
  const fresh = JSON.parse(JSON.stringify(engine.sanitize(raw as Doc)));
  expect((raw?.lastSeenAt as Date | undefined)?.getTime()).toBe(latestQueued);
  expect(fresh.bio).toBe("bio 39");
  const cached = JSON.parse(
    (await stack.ctx.stores.cache.get(userKeyOf(stack, user.id))) as string,
  );
  expect(cached).toEqual(fresh);
  const me = (await (await stack.call("GET", "/api/v1/users/me", { token: user.token })).json())
    .data.user;
  // The flush's bookkeeping is in MongoDB; a user entry leaves it out (users have no counter).
  expect(raw?._wb).toBeDefined();
  expect(fresh).not.toHaveProperty("_wb");
  expect(me).toEqual(fresh);
  await assertMoneyInvariants(stack, [user.id]);
}

/**
 * A flush moves the cache entry to the document's new version (a listing: its counters, unlike a
 * user's "latest" times, are not carried in the entry). Resolves with the cached entry and
 * MongoDB's document, sanitized, after three queued views and a flush.
 */
async function afterFlush(stack: TestStack): Promise<[unknown, unknown]> {
  const id = await newListing(stack.ctx.stores.db, { viewCount: 5, version: 1 });
  const listings = stack.ctx.use("cache").listings;
  await listings.get(id); // cached at the inserted version
  const wb = stack.ctx.use("writeBehind");
  for (let i = 0; i < 3; i++) await wb.change("listings", id, { add: { viewCount: 1 } });
  while ((await wb.report()).depth > 0) await wb.flush();
  expect((await listings.get(id))?.viewCount).toBe(8);
  const raw = await stack.ctx.stores.db
    .collection<Doc>("listings")
    .findOne({ _id: new ObjectId(id) });
  const cached = await stack.ctx.stores.cache.get(listings.engine.key(id));
  return [
    JSON.parse(cached as string),
    JSON.parse(JSON.stringify(listings.engine.sanitize(raw as Doc))),
  ];
}

describe("write-behind interleaved with write-throughs of the same document", () => {
  const env = { REDIS_TIMEOUT_MS: 2000, MONGO_TIMEOUT_MS: 5000 };
  let stack: TestStack;
  let unbumped: TestStack;
  beforeAll(async () => {
    stack = await createTestStack({ env });
    unbumped = await createTestStack({
      env,
      plugins: pluginsWith({ unsafeWithoutVersionBump: true }),
    });
  });
  afterAll(async () => {
    await stack?.close();
    await unbumped?.close();
  });

  test("reads never go back; cache, MongoDB and readers end equal", async () => {
    await interleave(stack);
  }, 60_000);

  test("a flush moves the cached entry to MongoDB's new version", async () => {
    const [cached, fresh] = await afterFlush(stack);
    expect(cached).toEqual(fresh);
  });

  test("the check bites: flushes that leave the version alone leave the cache behind MongoDB", async () => {
    const [cached, fresh] = await afterFlush(unbumped);
    expect(cached).not.toEqual(fresh);
    // A user's lastSeenAt no longer depends on it: the queue raises the entry itself.
    await interleave(unbumped);
  }, 60_000);
});
