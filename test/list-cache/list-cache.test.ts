import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { listKey, listScope, SKEW_MS } from "../../plugins/list-cache";
import { defaultPlugins } from "../../src/plugins";
import { createTestStack, type TestStack } from "../support/stack";
import { callJson, type RegisteredUser, registerUser } from "../support/users";
import { listProbe, ownerScopedFind } from "./helpers";

const probe = listProbe();
let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack({ plugins: [...defaultPlugins(), probe.plugin] });
});
afterAll(() => stack.close());

const me = async (u: RegisteredUser) => {
  const r = await callJson(stack, "GET", "/api/v1/users/me", { token: u.token });
  expect(r.status).toBe(200);
  // The first authenticated request sets lastSeenAt (write-behind); these tests are about lists.
  delete r.body.data.user.lastSeenAt;
  return r.body.data as {
    user: { id: string };
    listings: { id: string; title: string }[];
    favorites: { id: string; title: string }[];
  };
};
const titles = (xs: { title: string }[]) => xs.map((x) => x.title);
const finds = () => probe.count("listings", "find") + probe.count("favorites", "find");
/** Seeds straight into MongoDB (no hooks, so no invalidation): for data present before any read. */
const seedListing = (owner: string | ObjectId, title: string, at: number) =>
  stack.stores.db.collection("listings").insertOne({
    userId: typeof owner === "string" ? new ObjectId(owner) : owner,
    title,
    createdAt: new Date(at),
  });
const repoListings = () => stack.ctx.repo.collection("listings");
const repoFavorites = () => stack.ctx.repo.collection("favorites");

describe("listScope: only owner-scoped filters are cached", () => {
  const oid = new ObjectId();
  const hex = oid.toHexString();
  test("accepts an ObjectId, a hex string, or $in naming one id", () => {
    expect(listScope({ userId: oid }, undefined, "userId")?.owner).toBe(hex);
    expect(listScope({ userId: hex.toUpperCase() }, undefined, "userId")?.owner).toBe(hex);
    expect(
      listScope({ userId: { $in: [oid, hex] } }, { sort: { createdAt: -1 }, limit: 50 }, "userId")
        ?.owner,
    ).toBe(hex);
  });
  test("refuses other shapes", () => {
    const other = new ObjectId();
    for (const f of [
      {},
      { userId: oid, status: "x" },
      { userId: { $in: [oid, other] } },
      { userId: { $in: [] } },
      { userId: { $ne: oid } },
      { userId: "nope" },
      { owner: oid },
      { userId: { $in: [oid], $nin: [] } },
    ]) {
      expect(listScope(f, undefined, "userId")).toBeNull();
    }
    expect(listScope({ userId: oid }, { hint: "x" }, "userId")).toBeNull();
  });
  test("the query string tells filter forms and options apart (different results, same key)", () => {
    const qs = [
      listScope({ userId: oid }, undefined, "userId")?.q,
      listScope({ userId: hex }, undefined, "userId")?.q,
      listScope({ userId: { $in: [oid, hex] } }, undefined, "userId")?.q,
      listScope({ userId: oid }, { limit: 5 }, "userId")?.q,
      listScope({ userId: oid }, { sort: { a: 1, b: 1 } }, "userId")?.q,
      listScope({ userId: oid }, { sort: { b: 1, a: 1 } }, "userId")?.q,
    ];
    expect(new Set(qs).size).toBe(qs.length);
    expect(
      listScope({ userId: { $in: [hex, oid] } }, { limit: 5, sort: { a: 1 } }, "userId")?.q,
    ).toBe(
      listScope({ userId: { $in: [oid, hex, oid] } }, { sort: { a: 1 }, limit: 5 }, "userId")?.q,
    );
  });
});

describe("GET /users/me from the list cache", () => {
  test("after the first request, no MongoDB find on listings or favorites; the lists are right", async () => {
    const a = await registerUser(stack);
    await seedListing(a.user.id, "old", 1000);
    await seedListing(a.user.id, "new", 2000);
    probe.reset();
    const first = await me(a);
    expect(titles(first.listings)).toEqual(["new", "old"]);
    expect(finds()).toBe(2);
    probe.reset();
    for (let i = 0; i < 5; i++) expect(await me(a)).toEqual(first);
    expect(finds()).toBe(0);
    expect(
      await stack.stores.cache.get(listKey(stack.config.CACHE_PREFIX, "listings", a.user.id)),
    ).not.toBeNull();
  });

  test("with favorites, nothing reaches MongoDB on a hit: the favorited listings come from the listings cache", async () => {
    const a = await registerUser(stack);
    const other = await registerUser(stack);
    const theirs = await seedListing(other.user.id, "theirs", 3000);
    await stack.stores.db
      .collection("favorites")
      .insertOne({ userId: new ObjectId(a.user.id), listingId: theirs._id, createdAt: new Date() });
    const first = await me(a);
    expect(titles(first.favorites)).toEqual(["theirs"]);
    probe.reset();
    expect(await me(a)).toEqual(first);
    expect(probe.count("favorites", "find")).toBe(0);
    // SPEC §8: favorites resolve through the listings cache (cache.listings.getMany).
    expect(probe.count("listings")).toBe(0);
  });

  test("a listing inserted, updated, deleted through the repository shows on the next request", async () => {
    const a = await registerUser(stack);
    await seedListing(a.user.id, "first", 1000);
    expect(titles((await me(a)).listings)).toEqual(["first"]);
    expect(titles((await me(a)).listings)).toEqual(["first"]); // a hit

    const added = await repoListings().insertOne({
      userId: new ObjectId(a.user.id),
      title: "added",
      createdAt: new Date(5000),
    });
    expect(titles((await me(a)).listings)).toEqual(["added", "first"]);

    await repoListings().updateOne({ _id: added._id }, { $set: { title: "renamed" } });
    expect(titles((await me(a)).listings)).toEqual(["renamed", "first"]);

    await repoListings().findOneAndUpdate({ _id: added._id }, { $set: { title: "renamed again" } });
    expect(titles((await me(a)).listings)).toEqual(["renamed again", "first"]);

    await repoListings().updateMany({ userId: new ObjectId(a.user.id) }, { $set: { price: 1 } });
    await repoListings().deleteOne({ _id: added._id });
    expect(titles((await me(a)).listings)).toEqual(["first"]);

    await repoListings().deleteMany({ userId: new ObjectId(a.user.id) });
    expect((await me(a)).listings).toEqual([]);
  });

  test("favorites: adding and removing one shows on the next request", async () => {
    const a = await registerUser(stack);
    const listing = await seedListing(new ObjectId(), "elsewhere", 1000);
    expect((await me(a)).favorites).toEqual([]);
    expect((await me(a)).favorites).toEqual([]);
    const fav = await repoFavorites().insertOne({
      userId: new ObjectId(a.user.id),
      listingId: listing._id,
      createdAt: new Date(),
    });
    expect(titles((await me(a)).favorites)).toEqual(["elsewhere"]);
    await repoFavorites().deleteOne({ _id: fav._id });
    expect((await me(a)).favorites).toEqual([]);
  });

  test("a listing moved to another owner leaves both owners' lists right", async () => {
    const a = await registerUser(stack);
    const b = await registerUser(stack);
    const l = await seedListing(a.user.id, "moving", 1000);
    expect(titles((await me(a)).listings)).toEqual(["moving"]);
    expect((await me(b)).listings).toEqual([]);
    await repoListings().updateOne({ _id: l._id }, { $set: { userId: new ObjectId(b.user.id) } });
    expect((await me(a)).listings).toEqual([]);
    expect(titles((await me(b)).listings)).toEqual(["moving"]);
  });

  test("another user's cached lists are not touched by a write", async () => {
    const a = await registerUser(stack);
    const b = await registerUser(stack);
    await seedListing(a.user.id, "a1", 1000);
    await seedListing(b.user.id, "b1", 1000);
    await me(a);
    const bFirst = await me(b);
    await repoListings().insertOne({
      userId: new ObjectId(a.user.id),
      title: "a2",
      createdAt: new Date(2000),
    });
    probe.reset();
    expect(await me(b)).toEqual(bFirst);
    expect(finds()).toBe(0);
    expect(titles((await me(a)).listings)).toEqual(["a2", "a1"]);
    expect(probe.count("listings", "find")).toBe(1); // a's listings only; a's favorites still cached
    expect(probe.count("favorites", "find")).toBe(0);
  });

  test(`caching resumes once a fill starts more than SKEW_MS (${SKEW_MS} ms) after the last write`, async () => {
    const a = await registerUser(stack);
    await repoListings().insertOne({
      userId: new ObjectId(a.user.id),
      title: "x",
      createdAt: new Date(),
    });
    await me(a);
    probe.reset();
    await me(a); // fill started inside the skew margin: refused, still a miss
    expect(probe.count("listings", "find")).toBe(1);
    expect(probe.count("favorites", "find")).toBe(0);
    await Bun.sleep(SKEW_MS + 50);
    await me(a); // fills
    probe.reset();
    expect(titles((await me(a)).listings)).toEqual(["x"]);
    expect(finds()).toBe(0);
  });
});

describe("race: a fill that read MongoDB before a write never lands after its invalidation", () => {
  test("held fill, then insert + invalidation, then release: the stale list is not cached", async () => {
    const a = await registerUser(stack);
    await seedListing(a.user.id, "before", 1000);
    const key = listKey(stack.config.CACHE_PREFIX, "listings", a.user.id);
    const gate = probe.hold(ownerScopedFind("listings"));
    const slow = me(a);
    await gate.reached; // MongoDB answered ["before"]; the fill has not happened yet
    await repoListings().insertOne({
      userId: new ObjectId(a.user.id),
      title: "after",
      createdAt: new Date(2000),
    });
    gate.release();
    expect(titles((await slow).listings)).toEqual(["before"]); // it began before the write
    expect(await stack.stores.cache.get(key)).toBeNull(); // refused by the tombstone
    expect(titles((await me(a)).listings)).toEqual(["after", "before"]);
  });

  test("the same with an update and a delete", async () => {
    const a = await registerUser(stack);
    const l = await seedListing(a.user.id, "v1", 1000);
    let gate = probe.hold(ownerScopedFind("listings"));
    let slow = me(a);
    await gate.reached;
    await repoListings().updateOne({ _id: l._id }, { $set: { title: "v2" } });
    gate.release();
    await slow;
    expect(titles((await me(a)).listings)).toEqual(["v2"]);

    gate = probe.hold(ownerScopedFind("listings"));
    slow = me(a);
    await gate.reached;
    await repoListings().deleteOne({ _id: l._id });
    gate.release();
    await slow;
    expect((await me(a)).listings).toEqual([]);
  });
});

describe("hit and miss return the same types", () => {
  test("ObjectId, Date, string owner and nested values come back identical from the cache", async () => {
    const owner = new ObjectId();
    const hex = owner.toHexString();
    const col = stack.stores.db.collection("listings");
    await col.insertOne({
      userId: owner,
      title: "oid owner",
      createdAt: new Date(1234),
      tags: ["a", "b"],
      price: 12,
      meta: { seller: new ObjectId(), at: new Date(99) },
    });
    await col.insertOne({ userId: hex, title: "hex owner", createdAt: new Date(5678), price: 1.5 });
    const query = () =>
      repoListings().find(
        { userId: { $in: [owner, hex] } },
        { sort: { createdAt: -1 }, limit: 50 },
      );
    probe.reset();
    const miss = await query();
    const hit = await query();
    expect(probe.count("listings", "find")).toBe(1);
    expect(hit).toEqual(miss);
    expect(hit.length).toBe(2);
    for (const [i, doc] of hit.entries()) {
      const m = miss[i] as Record<string, unknown>;
      const h = doc as Record<string, unknown>;
      expect(h._id).toBeInstanceOf(ObjectId);
      expect(h.createdAt).toBeInstanceOf(Date);
      expect(typeof h.userId).toBe(typeof m.userId);
      expect(h.userId?.constructor).toBe(m.userId?.constructor as never);
      expect(typeof h.price).toBe("number");
    }
    const meta = (hit[1] as unknown as { meta: { seller: unknown; at: unknown } }).meta;
    expect(meta.seller).toBeInstanceOf(ObjectId);
    expect(meta.at).toBeInstanceOf(Date);
    // A caller mutating its result does not change what the next caller gets.
    (hit[0] as Record<string, unknown>).title = "mutated";
    expect((await query())[0]?.title).toBe("hex owner");
    // A different filter form on the same owner is a miss, not the other form's result.
    probe.reset();
    expect(
      (await repoListings().find({ userId: owner }, { sort: { createdAt: -1 }, limit: 50 })).map(
        (d) => d.title,
      ),
    ).toEqual(["oid owner"]);
    expect(probe.count("listings", "find")).toBe(1);
  });
});

describe("metrics", () => {
  test("hits and misses are counted per collection", async () => {
    const a = await registerUser(stack);
    await me(a);
    await me(a);
    const text = await (await stack.call("GET", "/metrics")).text();
    expect(
      Number(/^cachesync_list_cache_hits_total\{collection="listings"\} (\S+)$/m.exec(text)?.[1]),
    ).toBeGreaterThanOrEqual(1);
    expect(
      Number(
        /^cachesync_list_cache_misses_total\{collection="favorites"\} (\S+)$/m.exec(text)?.[1],
      ),
    ).toBeGreaterThanOrEqual(1);
  });
});
