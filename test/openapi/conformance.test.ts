import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { defineCachedCollection } from "../../plugins/cache/cache-sync";
import { ownsMongo, testOwning } from "../support/mongo-ownership";
import { ownsRedis, type RedisHarness, startRedis } from "../support/redis-server";
import { createTestStack, type TestStack } from "../support/stack";
import { ADMIN_ENV, loginAdmin, registerUser } from "../support/users";
import { assertMoneyInvariants } from "../wallet/invariants";
import { type CallOptions, type Contract, json, openContract, userPass } from "./contract";
import {
  type OpenApiDoc,
  type Operation,
  operations,
  type ResponseChecker,
  responseChecker,
} from "./document";

/**
 * The document matches the server: every operation in `/openapi.json` is called through the
 * document's own paths (happy path and each error it documents), and every answer's status,
 * content type and body are validated against what the document says. A status the server
 * answers but the document omits fails; a documented status no call could provoke fails too,
 * unless it is listed in UNPROVOKED with the reason.
 */

/** Documented statuses this suite does not provoke, each with why. */
const UNPROVOKED: Record<string, string> = {
  "getMe 404":
    "only in a race: the session check and the read both use the cached user, so an account deleted before the call is a 401 (test/security/identity.test.ts)",
  "requestDeposit 409":
    "TOO_MANY_PENDING_REQUESTS past MAX_PENDING_REQUESTS (default 100): test/wallet/request-hardening.test.ts",
  "streamEvents 503":
    "a ticket while Redis is down (its single use cannot be recorded): test/security/sessions.test.ts",
  // Per-client-address limits: app.request() has no socket, hence no address to count.
  "register 429": "registrations per address: test/auth/login-limits.test.ts",
  "streamEvents 429": "SSE streams per address: test/http/edge-hardening.test.ts",
};

let stack: TestStack;
let contract: Contract;
let doc: OpenApiDoc;
let ops: Map<string, Operation>;
let checker: ResponseChecker;
const call = (id: string, o?: CallOptions) => contract.call(id, o);

let redis: RedisHarness;

beforeAll(async () => {
  // Its own server under REDIS_TOPOLOGY=cluster too: a test below pauses it.
  redis = await startRedis({ single: true });
  stack = await createTestStack({
    redis,
    env: {
      ...ADMIN_ENV,
      ADMIN_INITIAL_BALANCE: 1_000_000,
      LOGIN_MAX_FAILS_PER_ACCOUNT_IP: 3,
      MONGO_TIMEOUT_MS: 400,
    },
  });
  contract = await openContract(stack);
  ({ doc, ops, checker } = contract);
});
afterAll(async () => {
  await stack?.close();
  await redis?.stop();
});

describe("/openapi.json describes the server", () => {
  test("every operation: operationId, summary, description, security; examples match schemas", () => {
    expect(doc.openapi).toBe("3.1.0");
    const problems: string[] = [];
    for (const op of ops.values()) {
      const o = op.op as Operation["op"] & { summary?: string; description?: string };
      if (!o.summary) problems.push(`${op.id}: no summary`);
      if (!o.description) problems.push(`${op.id}: no description`);
      if (!Array.isArray(o.security)) problems.push(`${op.id}: no security`);
      if (o.requestBody && o.requestBody.content["application/json"]?.example === undefined)
        problems.push(`${op.id}: no request example`);
      problems.push(...checker.checkExample(op));
    }
    expect(problems).toEqual([]);
  });

  test("every operation, happy path and documented errors, answers as documented", async () => {
    const api = call;
    const adminToken = await loginAdmin(stack);
    const { example } = contract;

    // ---- Operations
    expect((await api("getHealth")).status).toBe(200);
    expect((await api("getReadiness")).status).toBe(200);
    expect((await api("getMetrics")).status).toBe(200);

    // ---- Auth: the happy path with the documented examples, then each refusal.
    const reg = await api("register", { body: example("register") });
    expect(reg.status).toBe(201);
    const token = json(reg.body).data.token as string;
    const userId = json(reg.body).data.user.id as string;
    expect((await api("register", { body: example("register") })).status).toBe(409);
    expect((await api("register", { body: { email: "x" } })).status).toBe(400);
    expect((await api("login", { body: example("login") })).status).toBe(200);
    expect(
      (await api("login", { body: { email: "ada@example.com", password: "nope" } })).status,
    ).toBe(401);
    for (let i = 0; i < 3; i++)
      await api("login", { body: { email: "limited@example.com", password: "x" } });
    expect(
      (await api("login", { body: { email: "limited@example.com", password: "x" } })).status,
    ).toBe(429);

    // ---- One user's data, every operation on it (shared with test/adoption/).
    await userPass(contract, adminToken, { id: userId, token, balance: 0 });
    expect((await api("getUser", { params: { id: "nope" } })).status).toBe(400);
    const unknownId = new ObjectId().toHexString();
    expect((await api("getUser", { params: { id: unknownId } })).status).toBe(404);

    // ---- Listings (a cached collection: SPEC §8)
    const listing = await stack.stores.db
      .collection("listings")
      .insertOne({ userId: new ObjectId(userId), title: "conformance", createdAt: new Date() });
    const listingId = listing._id.toHexString();
    expect((await api("getListing", { params: { id: listingId } })).status).toBe(200);
    expect((await api("getListing", { params: { id: "nope" } })).status).toBe(400);
    expect((await api("getListing", { params: { id: unknownId } })).status).toBe(404);
    // A view counted through write-behind (the 400 comes from the loop below).
    const viewed = await api("recordListingView", { params: { id: listingId } });
    expect(viewed.status).toBe(200);
    expect((await api("recordListingView", { params: { id: unknownId } })).status).toBe(404);

    // An account deleted behind the API: while the cached copy still vouches for the session, a
    // write finds no user (404); once the cache knows, the token stops working (401).
    const gone = await registerUser(stack);
    expect((await api("getMe", { token: gone.token })).status).toBe(200);
    await stack.stores.db.collection("users").deleteOne({ _id: new ObjectId(gone.user.id) });
    expect((await api("updateMe", { token: gone.token, body: { bio: "x" } })).status).toBe(404);
    const goneWithdrawal = { amount: 1, destination: "X" };
    expect(
      (await api("requestWithdrawal", { token: gone.token, body: goneWithdrawal })).status,
    ).toBe(404);
    await stack.ctx.use("cacheSync").invalidateUserCache(gone.user.id, gone.email);
    for (const id of ["getMe", "updateMe"])
      await api(id, { token: gone.token, body: id === "updateMe" ? { bio: "x" } : undefined });

    // ---- Money beyond one user: the admin's float, and requests that do not exist.
    // Approving more than the admin's float holds: nothing moves, 409.
    const dep3 = await api("requestDeposit", {
      token,
      body: { amount: 5_000_000, senderName: "A" },
    });
    expect(
      (await api("approveDeposit", { params: { id: json(dep3.body).data.id }, token: adminToken }))
        .status,
    ).toBe(409);
    // The admin's float: topped up once per idempotency key; the key reused for another amount is 409.
    const topUp = example("adminTopUp") as { amount: number; idempotencyKey: string };
    expect((await api("adminTopUp", { token: adminToken, body: topUp })).status).toBe(200);
    expect(
      (await api("adminTopUp", { token: adminToken, body: { ...topUp, amount: 1 } })).status,
    ).toBe(409);
    for (const id of ["approveDeposit", "rejectDeposit", "approveWithdrawal", "rejectWithdrawal"])
      expect((await api(id, { params: { id: unknownId }, token: adminToken })).status).toBe(404);

    // ---- Admin cache
    expect((await api("getCacheStats", { token: adminToken })).status).toBe(200);
    expect(
      (await api("syncUserCache", { params: { userId: unknownId }, token: adminToken })).status,
    ).toBe(404);
    const bulk = { token: adminToken, body: example("bulkSyncUserCaches") };
    expect((await api("bulkSyncUserCaches", bulk)).status).toBe(200);
    // The same operations for any declared collection (SPEC §8): /cache/{collection}/… (the
    // users collection is in the user pass).
    const entry = { params: { collection: "listings", id: listingId }, token: adminToken };
    expect((await api("getCollectionCacheStats", entry)).status).toBe(200);
    for (const op of [
      "validateCollectionCache",
      "syncCollectionCache",
      "invalidateCollectionCache",
    ])
      expect((await api(op, entry)).status).toBe(200);
    const ids = {
      params: { collection: "listings" },
      token: adminToken,
      body: { ids: [listingId] },
    };
    expect((await api("bulkSyncCollectionCache", ids)).status).toBe(200);
    const unknownEntry = { params: { collection: "listings", id: unknownId }, token: adminToken };
    expect((await api("syncCollectionCache", unknownEntry)).status).toBe(404);
    const notCached = { params: { collection: "ledger", id: unknownId }, token: adminToken };
    for (const op of [
      "getCollectionCacheStats",
      "validateCollectionCache",
      "invalidateCollectionCache",
    ])
      expect((await api(op, notCached)).status).toBe(404);
    const notCachedBulk = { ...notCached, body: { ids: [unknownId] } };
    expect((await api("bulkSyncCollectionCache", notCachedBulk)).status).toBe(404);

    // ---- Adoption
    expect((await api("runDoctor", { token: adminToken, query: { limit: "5" } })).status).toBe(200);
    expect((await api("runDoctor", { token: adminToken, query: { cursor: "x" } })).status).toBe(
      400,
    );

    // ---- What every operation answers before its handler runs, derived from the document.
    const userToken = (await registerUser(stack)).token;
    const oversized = `"${"x".repeat(stack.ctx.config.MAX_BODY_BYTES - 1)}"`;
    for (const op of ops.values()) {
      const params = Object.fromEntries(
        (op.op.parameters ?? [])
          .filter((p) => p.in === "path")
          .map((p) => [p.name, p.name === "collection" ? "listings" : unknownId]),
      );
      const guarded = (op.op.security ?? []).length > 0;
      if (guarded) {
        expect((await api(op.id, { params })).status).toBe(401);
        expect((await api(op.id, { params, token: "not.a.token" })).status).toBe(401);
      }
      if (op.op.responses["403"])
        expect((await api(op.id, { params, token: userToken })).status).toBe(403);
      const caller = op.op.responses["403"] ? adminToken : guarded ? userToken : undefined;
      if (Object.keys(params).length > 0) {
        const bad = Object.fromEntries(Object.keys(params).map((k) => [k, "not-an-id"]));
        expect((await api(op.id, { params: bad, token: caller })).status).toBe(400);
      }
      if (op.op.requestBody) {
        expect((await api(op.id, { params, token: caller, raw: "{" })).status).toBe(400);
        // The edge's body cap, before authentication or the route: one byte over MAX_BODY_BYTES.
        expect((await api(op.id, { params, token: caller, raw: oversized })).status).toBe(413);
        if (op.op.requestBody.required)
          expect(
            (await api(op.id, { params, token: caller, raw: "x", contentType: "text/plain" }))
              .status,
          ).toBe(415);
      }
    }

    await assertMoneyInvariants(stack, [userId]);
    // Last, as it revokes every token of the account (the store-down passes call it too, but a
    // run on a server the suite does not own skips them).
    expect((await api("logout", { token })).status).toBe(200);
    expect((await api("getMe", { token })).status).toBe(401);
  }, 60_000);

  /** Calls every operation with the caller's tokens (its answers are checked by `call`). */
  async function callEveryOperation(adminToken: string, token: string, userId: string) {
    const { example } = contract;
    for (const op of ops.values()) {
      if (op.id === "getMetrics") continue; // store-free, and slow to render
      const caller = op.op.responses["403"] ? adminToken : token;
      const params = Object.fromEntries(
        (op.op.parameters ?? [])
          .filter((p) => p.in === "path")
          .map((p) => [
            p.name,
            p.name === "collection"
              ? "users"
              : op.id.endsWith("UserCache") || op.id.endsWith("CollectionCache")
                ? userId
                : new ObjectId().toHexString(),
          ]),
      );
      const body =
        op.id === "register"
          ? {
              ...(example(op.id) as object),
              email: `n${contract.calls}@example.com`,
              username: `n${contract.calls}`,
            }
          : example(op.id);
      await call(op.id, { params, token: caller, body });
    }
  }

  /** The driver and the Redis client reconnect on their own; wait until both have. */
  async function ready() {
    for (let i = 0; i < 100 && (await stack.app.request("/ready")).status !== 200; i++)
      await Bun.sleep(100);
  }

  testOwning({ mongo: true })(
    "MongoDB down: every operation answers as documented (503 where it needs the store)",
    async () => {
      const adminToken = await loginAdmin(stack);
      const { token, user } = await registerUser(stack);
      await stack.mongo?.stop();
      try {
        await callEveryOperation(adminToken, token, user.id);
      } finally {
        await stack.mongo?.restart();
      }
      await ready();
      await assertMoneyInvariants(stack, [user.id]);
    },
    60_000,
  );

  testOwning({ redis: true })(
    "Redis down: every operation answers as documented (503 where it needs the store)",
    async () => {
      const adminToken = await loginAdmin(stack);
      const { token, user } = await registerUser(stack);
      redis.pause();
      try {
        await callEveryOperation(adminToken, token, user.id);
      } finally {
        redis.resume();
      }
      await ready();
      await assertMoneyInvariants(stack, [user.id]);
    },
    60_000,
  );

  // The lint exception in .redocly.lint-ignore.yaml rests on these two facts.
  test("paths Redocly calls ambiguous never share a valid request: §5 wins, the names are reserved", async () => {
    const adminToken = await loginAdmin(stack);
    // Hono tries routes in registration order (not static segments first); the plugin registers
    // the §5 user routes first, so the URL both templates match is the user route's, and
    // "bulk-sync" is not a user id.
    const both = await call("validateUserCache", {
      params: { userId: "bulk-sync" },
      token: adminToken,
      body: { ids: [new ObjectId().toHexString()] },
    });
    expect(both.status).toBe(400);
    expect(JSON.stringify(both.body)).toContain("userId");
    // The collection form would want that URL only for a collection named like a §5 segment.
    const cache = stack.ctx.use("cache");
    for (const name of ["validate", "sync", "invalidate", "stats"])
      expect(() => cache.declare(defineCachedCollection({ name, entity: "x" }))).toThrow(
        "reserved",
      );
  });

  test("every documented status was provoked, and every answer matched the document", () => {
    const documented = [...ops.values()].flatMap((op) =>
      Object.keys(op.op.responses).map((s) => `${op.id} ${s}`),
    );
    // On a server the suite does not own, the test stopping it was skipped (and said so): the 503s
    // only that test provokes cannot be required.
    const excused = (k: string) => (!ownsMongo || !ownsRedis) && k.endsWith(" 503");
    const { seen } = contract;
    const missing = documented.filter((k) => !seen.has(k) && !UNPROVOKED[k] && !excused(k));
    console.log(
      `[openapi] ${ops.size} operations, ${documented.length} documented responses, ${
        documented.filter((k) => seen.has(k)).length
      } provoked by ${contract.calls} calls; ${contract.drift.length} answers differing from the document`,
    );
    expect(contract.drift).toEqual([]);
    expect(missing).toEqual([]);
    expect(new Set([...seen].map((k) => k.split(" ")[0])).size).toBe(ops.size);
  });

  test("the check catches drift: an undocumented status and a changed schema are reported", () => {
    const register = ops.get("register") as Operation;
    const answer = { success: false, error: { code: "EMAIL_TAKEN", message: "taken" } };
    expect(checker.check(register, 409, "application/json", answer)).toEqual([]);
    // The document without the 409 (a route that forgot an error) no longer describes it.
    const trimmed = structuredClone(doc);
    delete trimmed.paths["/api/v1/auth/register"]?.post?.responses["409"];
    const trimmedOp = operations(trimmed).get("register") as Operation;
    expect(responseChecker(trimmed).check(trimmedOp, 409, "application/json", answer)).toEqual([
      expect.stringContaining("status not documented"),
    ]);
    // A code the catalogue entry of this response does not list.
    const other = { success: false, error: { code: "INSUFFICIENT_FUNDS", message: "x" } };
    expect(checker.check(register, 409, "application/json", other).length).toBeGreaterThan(0);
  });
});
