import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import type { Doc } from "../../src/core/ports/document-store";
import { createUser } from "../support/fixtures";
import { createTestStack, type TestStack } from "../support/stack";

const listings = (stack: TestStack) => stack.ctx.stores.db.collection<Doc>("listings");

async function newListing(stack: TestStack, viewCount?: number): Promise<string> {
  const doc = await listings(stack).insertOne({
    userId: new ObjectId(),
    title: "A bike",
    createdAt: new Date(),
    ...(viewCount === undefined ? {} : { viewCount }),
  });
  return doc._id.toHexString();
}

describe("POST /api/v1/listings/:id/view (write-behind)", () => {
  let stack: TestStack;
  beforeAll(async () => {
    // No timer flush during a test: each test flushes when it means to.
    stack = await createTestStack({ env: { WRITE_BEHIND_FLUSH_MS: 60_000 } });
  });
  afterAll(() => stack?.close());

  test("400 for a malformed id, 404 for an unknown listing, both in the SPEC envelope", async () => {
    const bad = await stack.call("POST", "/api/v1/listings/not-an-id/view");
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe("VALIDATION_ERROR");
    const unknown = await stack.call(
      "POST",
      `/api/v1/listings/${new ObjectId().toHexString()}/view`,
    );
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({
      success: false,
      error: { code: "LISTING_NOT_FOUND" },
    });
  });

  test("readers see each view at once; MongoDB gets them in one write, exactly", async () => {
    const id = await newListing(stack, 5);
    for (let i = 1; i <= 3; i++) {
      const res = await stack.call("POST", `/api/v1/listings/${id}/view`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ success: true, data: { id, viewCount: 5 + i } });
    }
    const read = await stack.ctx.repo.collection("listings").findOne({ _id: new ObjectId(id) });
    expect(read?.viewCount).toBe(8);
    expect(read).not.toHaveProperty("_wb");
    // Through the listings cache (reads by intent) too.
    const got = await (await stack.call("GET", `/api/v1/listings/${id}`)).json();
    expect(got.data.viewCount).toBe(8);
    expect(got.data).not.toHaveProperty("_wb");
    expect((await listings(stack).findOne({ _id: new ObjectId(id) }))?.viewCount).toBe(5);

    expect(await stack.ctx.use("writeBehind").flush()).toBeGreaterThanOrEqual(3);
    expect((await listings(stack).findOne({ _id: new ObjectId(id) }))?.viewCount).toBe(8);
    // The flush recorded how much of the overlay it applied: nothing shows twice.
    const again = await stack.ctx.repo.collection("listings").findOne({ _id: new ObjectId(id) });
    expect(again?.viewCount).toBe(8);
    expect(await stack.ctx.use("writeBehind").flush()).toBe(0);
    expect((await listings(stack).findOne({ _id: new ObjectId(id) }))?.viewCount).toBe(8);
  });

  test("a listing read on a miss shows each queued view once", async () => {
    const id = await newListing(stack, 5);
    for (let i = 0; i < 3; i++) await stack.call("POST", `/api/v1/listings/${id}/view`);
    const listingsCache = stack.ctx.use("cache").listings;
    await listingsCache.invalidate(id);
    // The fill caches MongoDB's document (views merged only when read): 8 on the miss and after.
    // Before, the fill cached the merged count and reads added the queued views again (11).
    for (let i = 0; i < 2; i++) {
      const got = await (await stack.call("GET", `/api/v1/listings/${id}`)).json();
      expect(got.data.viewCount).toBe(8);
    }
    expect((await listingsCache.getMany([id]))[0]?.viewCount).toBe(8);
  });

  test("users.lastSeenAt: queued by an authenticated request, shown at once, flushed", async () => {
    const user = await createUser(stack);
    const before = Date.now();
    const me = await stack.call("GET", "/api/v1/users/me", { token: user.token });
    expect(me.status).toBe(200);
    await Bun.sleep(20); // the change is queued after the answer
    const read = await stack.call("GET", "/api/v1/users/me", { token: user.token });
    const seen = (await read.json()).data.user;
    expect(Date.parse(seen.lastSeenAt)).toBeGreaterThanOrEqual(before);
    expect(seen).not.toHaveProperty("_wb");
    await stack.ctx.use("writeBehind").flush();
    const raw = await stack.ctx.stores.db
      .collection<Doc>("users")
      .findOne({ _id: new ObjectId(user.id) });
    expect((raw?.lastSeenAt as Date | undefined)?.toISOString()).toBe(seen.lastSeenAt);
  });
});
