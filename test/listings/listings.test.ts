import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { defaultPlugins } from "../../app/plugins";
import { seedListing } from "../support/seed";
import { createTestStack, type TestStack } from "../support/stack";
import { storeProbe } from "../support/store-probe";
import { callJson, registerUser } from "../support/users";

/** Listings: a cached collection from one declaration file plus its route (SPEC §8). */
let stack: TestStack;
const probe = storeProbe(["listings", "favorites"], "test-probe");

beforeAll(async () => {
  stack = await createTestStack({ plugins: [...defaultPlugins(), probe.plugin] });
});
afterAll(() => stack.close());

const get = (id: string) => callJson(stack, "GET", `/api/v1/listings/${id}`);

describe("GET /api/v1/listings/:id", () => {
  test("the listing, read through the cache: the second read does not reach MongoDB", async () => {
    const l = await seedListing(stack.ctx, { title: "bike" });
    await stack.ctx.use("cache").listings.invalidate(l.id);
    probe.reset();
    const first = await get(l.id);
    expect(first.status).toBe(200);
    expect(first.body.data).toMatchObject({ id: l.id, title: "bike", version: 1 });
    expect(first.body.data).not.toHaveProperty("_id");
    expect(first.body.data).not.toHaveProperty("internalNotes");
    expect(probe.count("listings", "findOne")).toBe(1);
    const second = await get(l.id);
    expect(second.body).toEqual(first.body);
    expect(probe.count("listings", "findOne")).toBe(1);
    const raw = await stack.stores.cache.get(`${stack.config.CACHE_PREFIX}listing:${l.id}`);
    expect(JSON.parse(raw as string)).toMatchObject({ id: l.id, version: 1 });
  });

  test("400 on a malformed id, 404 on an unknown one, with the catalogue's codes", async () => {
    for (const bad of ["nope", "0123456789ABCDEF01234567", "0123456789abcdef0123456"]) {
      const r = await get(bad);
      expect([bad, r.status, r.body.error?.code]).toEqual([bad, 400, "VALIDATION_ERROR"]);
    }
    const r = await get(new ObjectId().toHexString());
    expect(r.status).toBe(404);
    expect(r.body.error?.code).toBe("LISTING_NOT_FOUND");
  });

  test("a write through the repository is written through, versioned, and announced", async () => {
    const l = await seedListing(stack.ctx, { title: "old" });
    expect((await get(l.id)).body.data.title).toBe("old");
    const events: string[] = [];
    const off = await stack.ctx.bus.subscribe(`${stack.config.CACHE_PREFIX}events:listing`, (m) =>
      events.push(m.payload),
    );
    try {
      await stack.ctx.repo
        .collection("listings", { write: { reason: "seller edit" } })
        .updateOne({ _id: l._id }, { $set: { title: "new" } });
      probe.reset();
      const after = await get(l.id);
      expect(after.body.data).toMatchObject({ title: "new", version: 2 });
      expect(probe.count("listings", "findOne")).toBe(0); // written through, not refilled
      for (let i = 0; i < 50 && events.length === 0; i++) await Bun.sleep(10);
      const event = JSON.parse(events[0] as string);
      expect(event).toMatchObject({
        type: "listingUpdated",
        listingId: l.id,
        version: 2,
        changed: ["title"],
        reason: "seller edit",
      });
      expect(event.listing.internalNotes).toBeUndefined();
    } finally {
      await off();
    }
  });

  test("a deleted listing is gone at once (tombstone), and 404", async () => {
    const l = await seedListing(stack.ctx);
    expect((await get(l.id)).status).toBe(200);
    await stack.ctx.repo.collection("listings").deleteOne({ _id: l._id });
    expect((await get(l.id)).status).toBe(404);
  });
});

describe("GET /users/me favorites", () => {
  test("resolve through the listings cache: no MongoDB listing read on a hit, order kept", async () => {
    const me = await registerUser(stack);
    const a = await seedListing(stack.ctx, { title: "a" });
    const b = await seedListing(stack.ctx, { title: "b" });
    const favorites = stack.stores.db.collection("favorites");
    const owner = new ObjectId(me.user.id);
    await favorites.insertOne({ userId: owner, listingId: a._id, createdAt: new Date(1000) });
    await favorites.insertOne({ userId: owner, listingId: b.id, createdAt: new Date(2000) });
    const first = await callJson(stack, "GET", "/api/v1/users/me", { token: me.token });
    expect(first.body.data.favorites.map((f: { title: string }) => f.title)).toEqual(["b", "a"]);
    probe.reset();
    const again = await callJson(stack, "GET", "/api/v1/users/me", { token: me.token });
    expect(again.body.data.favorites).toEqual(first.body.data.favorites);
    expect(probe.count("listings")).toBe(0);
    expect(probe.count("favorites")).toBe(0);
    for (const f of again.body.data.favorites) expect(f.internalNotes).toBeUndefined();
  });
});

describe("GET /users/me own listings", () => {
  test("a listing's sensitive field is in no response and nowhere in Redis", async () => {
    const me = await registerUser(stack);
    // Written by another service straight to MongoDB: no invalidation holds the list fill back.
    await stack.stores.db.collection("listings").insertOne({
      userId: new ObjectId(me.user.id),
      title: "mine",
      internalNotes: "moderation: seller under review",
      createdAt: new Date(),
    });
    for (let i = 0; i < 3; i++) {
      const r = await callJson(stack, "GET", "/api/v1/users/me", { token: me.token });
      expect(r.body.data.listings.map((l: { title: string }) => l.title)).toEqual(["mine"]);
      expect(JSON.stringify(r.body)).not.toContain("internalNotes");
    }
    const leaked: string[] = [];
    await stack.stores.cache.scan(`${stack.config.CACHE_PREFIX}*`, async (keys) => {
      for (const k of keys) {
        const v = await stack.stores.cache.get(k).catch(() => null); // streams: the event bus
        if (v?.includes("internalNotes")) leaked.push(k);
      }
    });
    expect(leaked).toEqual([]);
  });
});
