/**
 * Owner lists come from the collection declaration alone (`lists`): the engine builds the list
 * kind, its member write hooks and its index from it, and the collection reads its lists by
 * intent (`cache.<name>.lists.<list>(owner)`).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { defaultPlugins } from "../../app/plugins";
import { defineCachedCollection } from "../../plugins/cache/cache-sync";
import type { Plugin } from "../../src/core/plugin";
import { createTestStack, type TestStack } from "../support/stack";
import { callJson, registerUser } from "../support/users";

const articles = defineCachedCollection({
  name: "articles",
  entity: "article",
  lists: { byAuthor: { owner: "authorId", sort: { createdAt: -1 }, limit: 2 } },
});
const articlesPlugin: Plugin = {
  name: "test-articles",
  dependencies: ["cache-sync"],
  register: (ctx) => {
    ctx.use("cache").declare(articles);
  },
};

let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack({ plugins: [...defaultPlugins(), articlesPlugin] });
});
afterAll(() => stack.close());

describe("a declaration's lists", () => {
  test("are refused when malformed, naming the collection and the list", () => {
    const bad = (lists: Parameters<typeof defineCachedCollection>[0]["lists"]) => () =>
      defineCachedCollection({ name: "things", entity: "thing", lists });
    const sort = { createdAt: -1 as const };
    expect(bad({ mine: { owner: "userId", sort, limit: 0 } })).toThrow(/things: .*limit/);
    // Members of another collection yield this collection's documents only through `pick`.
    expect(bad({ liked: { owner: "userId", sort, limit: 5, members: "likes" } })).toThrow(
      /things: owner list "liked".*pick/,
    );
    expect(bad({ mine: { owner: "userId", sort, limit: 5, pick: "otherId" } })).toThrow(
      /pick` only with `members/,
    );
    expect(bad({ "no-dash": { owner: "userId", sort, limit: 5 } })).toThrow(/list name/);
  });

  test("an embedder's list is read by intent, cached, and changed by writes to its members", async () => {
    const cache = stack.ctx.use("cache").collection("articles");
    if (!cache) throw new Error("articles not declared");
    const author = new ObjectId();
    const col = stack.ctx.repo.collection("articles");
    for (const [title, at] of [
      ["old", 1],
      ["mid", 2],
      ["new", 3],
    ] as const)
      await col.insertOne({ authorId: author, title, createdAt: new Date(at) });
    const titles = async () =>
      (await cache.lists.byAuthor?.(author.toHexString()))?.map((a) => a.title);
    expect(await titles()).toEqual(["new", "mid"]);
    expect((await cache.lists.byAuthor?.list.read(author.toHexString()))?.source).toBe("cache");
    // A write through the repository passes the list's member hooks: the next read has it.
    await col.insertOne({ authorId: author, title: "newest", createdAt: new Date(4) });
    expect(await titles()).toEqual(["newest", "new"]);
    // The fill's query has its index: owner, then the sort.
    const indexes = await stack.stores.db.listIndexes("articles");
    expect(indexes.map((i) => i.key)).toContainEqual({ authorId: 1, createdAt: -1 });
  });

  test("listings' lists: byOwner and favoritedBy, several at once with listsOf", async () => {
    const u = await registerUser(stack);
    const owner = new ObjectId(u.user.id);
    const listings = stack.ctx.repo.collection("listings");
    const mine = await listings.insertOne({ userId: owner, title: "mine", createdAt: new Date() });
    const other = await listings.insertOne({
      userId: new ObjectId(),
      title: "theirs",
      createdAt: new Date(),
    });
    await stack.ctx.repo
      .collection("favorites")
      .insertOne({ userId: owner, listingId: other._id, createdAt: new Date() });
    const cache = stack.ctx.use("cache").listings;
    expect((await cache.lists.byOwner(u.user.id)).map((l) => l.title)).toEqual(["mine"]);
    expect((await cache.lists.favoritedBy(u.user.id)).map((l) => l.title)).toEqual(["theirs"]);
    const both = await cache.listsOf(u.user.id, ["byOwner", "favoritedBy"]);
    expect(both.byOwner.map((l) => l.id)).toEqual([String(mine._id)]);
    expect(both.favoritedBy.map((l) => l.id)).toEqual([String(other._id)]);
    await expect(cache.listsOf(u.user.id, ["nope"])).rejects.toThrow(/no owner list "nope"/);
  });

  test("GET /users/me reads the lists beside the session check, and a logged-out token gets none of them", async () => {
    const u = await registerUser(stack);
    await stack.ctx.repo
      .collection("listings")
      .insertOne({ userId: new ObjectId(u.user.id), title: "shown", createdAt: new Date() });
    const ok = await callJson(stack, "GET", "/api/v1/users/me", { token: u.token });
    expect(ok.body.data.listings.map((l: { title: string }) => l.title)).toEqual(["shown"]);
    await stack.call("POST", "/api/v1/auth/logout", { token: u.token });
    const after = await callJson(stack, "GET", "/api/v1/users/me", { token: u.token });
    expect(after.status).toBe(401);
    expect(JSON.stringify(after.body)).not.toContain("shown");
  });
});
