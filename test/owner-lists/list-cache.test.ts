import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { defaultPlugins } from "../../app/plugins";
import { listKey } from "../../plugins/cache/cache-sync/lists";
import { idsInUpdate, touchedFields } from "../../plugins/cache/cache-sync/lists/owner-ids";
import { ListVersions } from "../../plugins/cache/cache-sync/lists/versions";
import { createTestStack, type TestStack } from "../support/stack";
import { callJson, type RegisteredUser, registerUser } from "../support/users";
import { listProbe, ownerScopedFind } from "./helpers";

const probe = listProbe();
let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack({ plugins: [...defaultPlugins(), ...probe.plugins] });
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
/** Seeds straight into MongoDB (no hooks, so no invalidation): for data present before any read. */
const seedListing = (owner: string | ObjectId, title: string, at: number) =>
  stack.stores.db.collection("listings").insertOne({
    userId: typeof owner === "string" ? new ObjectId(owner) : owner,
    title,
    createdAt: new Date(at),
  });
const repoListings = () => stack.ctx.repo.collection("listings");
const repoFavorites = () => stack.ctx.repo.collection("favorites");

describe("which writes change a list", () => {
  test("an update changes a list only through the fields it touches", () => {
    expect(touchedFields({ $set: { title: "x", "meta.a": 1 }, $inc: { views: 1 } })).toEqual(
      new Set(["title", "meta", "views"]),
    );
    expect(touchedFields({ $rename: { owner: "userId" } })).toEqual(new Set(["owner", "userId"]));
    expect(touchedFields({ title: "a replacement" })).toBeNull();
  });
  test("the owner an update gives a member", () => {
    const oid = new ObjectId();
    const hex = oid.toHexString();
    expect(idsInUpdate({ $set: { userId: oid } }, "userId")).toEqual([hex]);
    expect(idsInUpdate({ $setOnInsert: { userId: hex.toUpperCase() } }, "userId")).toEqual([hex]);
    expect(idsInUpdate({ userId: oid, title: "replacement" }, "userId")).toEqual([hex]);
    expect(idsInUpdate({ $set: { title: "x" } }, "userId")).toEqual([]);
  });
});

describe("GET /users/me from the list cache", () => {
  test("after the first request, nothing reaches MongoDB (lists and listings cached); the lists are right", async () => {
    const a = await registerUser(stack);
    await seedListing(a.user.id, "old", 1000);
    await seedListing(a.user.id, "new", 2000);
    probe.reset();
    const first = await me(a);
    expect(titles(first.listings)).toEqual(["new", "old"]);
    expect(probe.fills()).toBe(2);
    probe.reset();
    for (let i = 0; i < 5; i++) expect(await me(a)).toEqual(first);
    expect(probe.fills()).toBe(0);
    expect(probe.count("favorites", "find")).toBe(0);
    expect(probe.count("listings")).toBe(0); // the ids resolved through the listings cache
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
    expect(probe.fills()).toBe(0);
    expect(titles((await me(a)).listings)).toEqual(["a2", "a1"]);
    expect(probe.fills("listings")).toBe(1); // a's listings only; a's favorites still cached
    expect(probe.fills("favorites")).toBe(0);
  });

  test("a listing edit that changes no list field keeps the lists cached (they hold ids)", async () => {
    const a = await registerUser(stack);
    const l = await seedListing(a.user.id, "before", 1000);
    await me(a);
    probe.reset();
    await repoListings().updateOne({ _id: l._id }, { $set: { title: "after", price: 3 } });
    expect(titles((await me(a)).listings)).toEqual(["after"]);
    expect(probe.fills()).toBe(0);
    await repoListings().updateOne({ _id: l._id }, { $set: { createdAt: new Date(9000) } });
    await me(a);
    expect(probe.fills("listings")).toBe(1); // a sort key changed: the list is read again
  });

  test("a listing moved or deleted outside the service is dropped from the former owner's cached list", async () => {
    const a = await registerUser(stack);
    const moved = await seedListing(a.user.id, "moved", 1000);
    const gone = await seedListing(a.user.id, "gone", 2000);
    await seedListing(a.user.id, "stays", 3000);
    expect(titles((await me(a)).listings)).toEqual(["stays", "gone", "moved"]);
    const raw = stack.stores.db.collection("listings");
    await raw.updateOne({ _id: moved._id }, { $set: { userId: new ObjectId() } });
    await raw.deleteOne({ _id: gone._id });
    // What the change stream does for each (it cannot name the list of a former owner).
    const listings = stack.ctx.use("cache").listings;
    await listings.invalidate(moved._id.toHexString());
    await listings.invalidate(gone._id.toHexString());
    probe.reset();
    expect(titles((await me(a)).listings)).toEqual(["stays"]);
    expect(probe.fills()).toBe(0); // still the cached ids, checked against the documents
  });

  test("the first read after a write fills the list again: no clock margin", async () => {
    const a = await registerUser(stack);
    await repoListings().insertOne({
      userId: new ObjectId(a.user.id),
      title: "x",
      createdAt: new Date(),
    });
    await me(a); // fills
    probe.reset();
    expect(titles((await me(a)).listings)).toEqual(["x"]);
    expect(probe.fills()).toBe(0);
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
    expect(await stack.stores.cache.get(key)).toBeNull(); // refused: the write emptied the key, lease and all
    expect(titles((await me(a)).listings)).toEqual(["after", "before"]);
  });

  test("the same with an update and a delete", async () => {
    const a = await registerUser(stack);
    const l = await seedListing(a.user.id, "v1", 1000);
    let gate = probe.hold(ownerScopedFind("listings"));
    let slow = me(a);
    await gate.reached;
    const other = await repoListings().insertOne({
      userId: new ObjectId(a.user.id),
      title: "v2",
      createdAt: new Date(500),
    });
    // A sort key changed: the order the held fill read is no longer the truth.
    await repoListings().updateOne({ _id: other._id }, { $set: { createdAt: new Date(2000) } });
    gate.release();
    await slow;
    expect(titles((await me(a)).listings)).toEqual(["v2", "v1"]);
    await repoListings().deleteOne({ _id: other._id });

    gate = probe.hold(ownerScopedFind("listings"));
    slow = me(a);
    await gate.reached;
    await repoListings().deleteOne({ _id: l._id });
    gate.release();
    await slow;
    expect((await me(a)).listings).toEqual([]);
  });
});

describe("the list API", () => {
  test("concurrent first bumps of one counter each get their own version", async () => {
    const versions = new ListVersions(stack.ctx.stores.db);
    const owner = new ObjectId().toHexString();
    const got = await Promise.all(Array.from({ length: 20 }, () => versions.bump("t", owner)));
    expect(got.toSorted((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(await versions.read("t", owner)).toBe(20);
  });

  test("an owner stored as an ObjectId or as its hex string is listed; a hit answers what the miss did", async () => {
    const owner = new ObjectId();
    const hex = owner.toHexString();
    const col = stack.stores.db.collection("listings");
    const a = await col.insertOne({ userId: owner, title: "oid owner", createdAt: new Date(1234) });
    const b = await col.insertOne({ userId: hex, title: "hex owner", createdAt: new Date(5678) });
    await col.insertOne({ userId: new ObjectId(), title: "someone else", createdAt: new Date(9) });
    const list = stack.ctx.use("ownerLists").list("listings");
    const miss = await list.read(hex);
    const hit = await list.read(hex.toUpperCase());
    expect(miss.source).toBe("db");
    expect(hit.source).toBe("cache");
    expect(hit.ids).toEqual(miss.ids);
    expect(miss.ids).toEqual([b._id.toHexString(), a._id.toHexString()]);
    expect(hit.version).toBe(miss.version);
    // Each write bumps the owner's counter in MongoDB; the next fill carries it.
    await repoListings().insertOne({ userId: owner, title: "third", createdAt: new Date(1) });
    const after = await list.read(hex);
    expect(after.source).toBe("db");
    expect(after.version).toBe((miss.version ?? 0) + 1);
    expect(after.ids).toHaveLength(3);
    // After a lost change-stream position every list refills.
    expect(await stack.ctx.use("ownerLists").dropAll()).toBeGreaterThanOrEqual(1);
    expect((await list.read(hex)).source).toBe("db");
  });
});

describe("metrics", () => {
  test("hits and misses are counted per member collection", async () => {
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
