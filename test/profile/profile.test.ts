import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { createTestStack, type TestStack } from "../support/stack";
import { callJson, registerUser } from "../support/users";

let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack();
});
afterAll(() => stack.close());

describe("GET /users/me", () => {
  test("the user (no secrets), own listings newest first, favorited listings; items have id, never _id", async () => {
    const a = await registerUser(stack);
    const other = await registerUser(stack);
    const listings = stack.stores.db.collection("listings");
    const mine1 = await listings.insertOne({
      userId: new ObjectId(a.user.id),
      title: "old",
      createdAt: new Date(1000),
    });
    await listings.insertOne({
      userId: new ObjectId(a.user.id),
      title: "new",
      createdAt: new Date(2000),
    });
    const theirs = await listings.insertOne({
      userId: new ObjectId(other.user.id),
      title: "theirs",
      createdAt: new Date(3000),
    });
    await stack.stores.db
      .collection("favorites")
      .insertOne({ userId: new ObjectId(a.user.id), listingId: theirs._id, createdAt: new Date() });
    const r = await callJson(stack, "GET", "/api/v1/users/me", { token: a.token });
    expect(r.status).toBe(200);
    expect(r.body.data.user.id).toBe(a.user.id);
    for (const k of ["passwordHash", "authLogs", "refreshTokens", "pendingOps", "_id"])
      expect(r.body.data.user).not.toHaveProperty(k);
    expect(r.body.data.listings.map((l: { title: string }) => l.title)).toEqual(["new", "old"]);
    expect(r.body.data.listings[1].id).toBe(mine1._id.toHexString());
    expect(r.body.data.listings[1]).not.toHaveProperty("_id");
    expect(r.body.data.favorites.map((l: { id: string }) => l.id)).toEqual([
      theirs._id.toHexString(),
    ]);
  });

  test("401 without a token", async () => {
    expect((await stack.call("GET", "/api/v1/users/me")).status).toBe(401);
  });
});

describe("PATCH /users/me", () => {
  test("updates whitelisted fields through write-through: response, cache and MongoDB agree", async () => {
    const a = await registerUser(stack);
    const r = await callJson(stack, "PATCH", "/api/v1/users/me", {
      token: a.token,
      body: { displayName: "Ada", bio: "hello", avatarUrl: "https://img.example/a.png" },
    });
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({
      displayName: "Ada",
      bio: "hello",
      avatarUrl: "https://img.example/a.png",
      version: 2,
    });
    const cached = JSON.parse(
      (await stack.stores.cache.get(`${stack.config.CACHE_PREFIX}user:${a.user.id}`))!,
    );
    expect(cached).toMatchObject({ displayName: "Ada", version: 2 });
    const me = await callJson(stack, "GET", "/api/v1/users/me", { token: a.token });
    expect(me.body.data.user.bio).toBe("hello");
  });

  test("mass assignment: every other field is 400 and nothing changes", async () => {
    const a = await registerUser(stack);
    const before = await stack.stores.db
      .collection("users")
      .findOne({ _id: new ObjectId(a.user.id) });
    const attempts: unknown[] = [
      {},
      { wallet: { balance: 1_000_000, currency: "USD" } },
      { "wallet.balance": 1_000_000 },
      { role: "admin" },
      { email: "evil@example.test" },
      { version: 99 },
      { $set: { role: "admin" } },
      { bio: "ok", role: "admin" },
      { bio: { $set: "x" } },
      { displayName: "" },
      { bio: "x".repeat(501) },
      { avatarUrl: "javascript:alert(1)" },
      { passwordHash: "x" },
      '{"bio":"ok","__proto__":{"role":"admin"}}',
      '{"constructor":{"prototype":{"role":"admin"}}}',
    ];
    for (const body of attempts) {
      const r = await callJson(stack, "PATCH", "/api/v1/users/me", { token: a.token, body });
      expect({ body, status: r.status }).toEqual({ body, status: 400 });
    }
    const after = await stack.stores.db
      .collection("users")
      .findOne({ _id: new ObjectId(a.user.id) });
    expect(after).toEqual(before!);
  });
});

describe("GET /users/:id", () => {
  test("public view only; malformed id 400; unknown 404", async () => {
    const a = await registerUser(stack);
    const r = await callJson(stack, "GET", `/api/v1/users/${a.user.id}`);
    expect(r.status).toBe(200);
    expect(Object.keys(r.body.data).sort()).toEqual([
      "avatarUrl",
      "bio",
      "createdAt",
      "displayName",
      "id",
      "role",
      "username",
    ]);
    expect((await stack.call("GET", "/api/v1/users/not-an-id")).status).toBe(400);
    expect((await stack.call("GET", `/api/v1/users/${"a".repeat(25)}`)).status).toBe(400);
    expect((await stack.call("GET", `/api/v1/users/${new ObjectId().toHexString()}`)).status).toBe(
      404,
    );
  });
});
