import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { sign } from "hono/jwt";
import { entryKey } from "../../plugins/cache/cache-sync";
import type { SanitizedUser } from "../../plugins/features/users";
import { rawRedis, tamperBalance, userKeyOf } from "../support/fixtures";
import { testOwning } from "../support/mongo-ownership";
import { seedListing } from "../support/seed";
import { createTestStack, type TestStack } from "../support/stack";
import { ADMIN_ENV, callJson, loginAdmin, registerUser } from "../support/users";

/**
 * SPEC §8 security contract, identity half: nothing is granted from the cache. Each test edits
 * Redis behind the app's back (as anyone who can write one Redis value could) and checks that
 * the decision still follows MongoDB or the signed token.
 */
let stack: TestStack;
let redis: ReturnType<typeof rawRedis>;
beforeAll(async () => {
  stack = await createTestStack({ env: { ...ADMIN_ENV } });
  redis = rawRedis(stack);
});
afterAll(async () => {
  redis.disconnect();
  await stack.close();
});

/** Rewrites fields of the cached user entry directly in Redis. */
async function tamperCached(id: string, patch: Partial<SanitizedUser>) {
  const key = userKeyOf(stack, id);
  const raw = await redis.get(key);
  if (!raw) throw new Error(`no cache entry for ${id}`);
  await redis.set(key, JSON.stringify({ ...JSON.parse(raw), ...patch }), "PX", 60_000);
}

const me = (token: string) => callJson(stack, "GET", "/api/v1/users/me", { token });

describe("roles come from MongoDB or the signed token, never the cached user", () => {
  test("login with role: admin edited into the cached user mints a user token: 403 on /cache/stats", async () => {
    const u = await registerUser(stack);
    expect((await me(u.token)).status).toBe(200); // the entry is cached now
    await tamperCached(u.user.id, { role: "admin" });
    const login = await callJson(stack, "POST", "/api/v1/auth/login", {
      body: { email: u.email, password: u.password },
    });
    expect(login.status).toBe(200);
    expect(login.body.data.user.role).toBe("user");
    const stats = await stack.call("GET", "/api/v1/cache/stats", { token: login.body.data.token });
    expect(stats.status).toBe(403);
    // The token issued at registration is not lifted by the cached role either.
    expect((await stack.call("GET", "/api/v1/cache/stats", { token: u.token })).status).toBe(403);
  });

  test("a demoted admin's token stops working at once; a cached 'user' can only deny", async () => {
    const adminToken = await loginAdmin(stack);
    expect((await stack.call("GET", "/api/v1/cache/stats", { token: adminToken })).status).toBe(
      200,
    );
    const adminId = (await me(adminToken)).body.data.user.id as string;
    await tamperCached(adminId, { role: "user" });
    expect((await stack.call("GET", "/api/v1/cache/stats", { token: adminToken })).status).toBe(
      401,
    );
    await stack.ctx.use("cacheSync").syncUser(adminId); // the cache is MongoDB's again
    expect((await stack.call("GET", "/api/v1/cache/stats", { token: adminToken })).status).toBe(
      200,
    );
  });
});

describe("money decisions read MongoDB, not the cached balance", () => {
  test("a withdrawal against an inflated cached balance is refused; against a deflated one accepted", async () => {
    const u = await registerUser(stack);
    await stack.ctx.use("balance").apply(u.user.id, 1000, "test funding");
    expect((await me(u.token)).body.data.user.wallet.balance).toBe(1000);

    await tamperBalance(stack, redis, u.user.id, 1_000_000);
    const rich = await callJson(stack, "POST", "/api/v1/withdrawals/request", {
      token: u.token,
      body: { amount: 5000, destination: "IBAN X" },
    });
    expect(rich.status).toBe(409);
    expect(rich.body.error?.code).toBe("INSUFFICIENT_FUNDS");
    expect(rich.body.error?.details).toEqual({ balance: 1000, requested: 5000 });

    await tamperBalance(stack, redis, u.user.id, 0);
    const poor = await callJson(stack, "POST", "/api/v1/withdrawals/request", {
      token: u.token,
      body: { amount: 800, destination: "IBAN X" },
    });
    expect(poor.status).toBe(201);
  });
});

describe("tokens", () => {
  const forge = (sub: string) => {
    const iat = Math.floor(Date.now() / 1000);
    return sign(
      { sub, email: "x@example.test", role: "user", typ: "access", iat, exp: iat + 600 },
      stack.config.JWT_SECRET as string,
      "HS256",
    );
  };

  test("a signed token whose subject is not a canonical ObjectId is 401, not 500", async () => {
    const upper = new ObjectId()
      .toHexString()
      .toUpperCase()
      .replace(/^[0-9]/, "A");
    for (const sub of ["not-an-object-id", "", upper, "x".repeat(24)]) {
      const token = await forge(sub);
      const r = await callJson(stack, "POST", "/api/v1/deposits/request", {
        token,
        body: { amount: 100, senderName: "S" },
      });
      expect(r.status).toBe(401);
      expect((await stack.call("GET", "/api/v1/deposits", { token })).status).toBe(401);
    }
  });

  test("the token of a deleted account stops working (401), on every route", async () => {
    const u = await registerUser(stack);
    expect((await me(u.token)).status).toBe(200);
    // Deleted through the repository: the cache entry goes with it (write-through).
    await stack.ctx.repo.collection("users").deleteOne({ _id: new ObjectId(u.user.id) });
    expect((await me(u.token)).status).toBe(401);
    const dep = await stack.call("POST", "/api/v1/deposits/request", {
      token: u.token,
      body: { amount: 100, senderName: "ghost" },
    });
    expect(dep.status).toBe(401);
    expect((await stack.call("GET", "/api/v1/auth/sse-ticket", { token: u.token })).status).toBe(
      401,
    );
  });

  testOwning({ mongo: true })(
    "authenticated reads keep working from the cache while MongoDB is down",
    async () => {
      const u = await registerUser(stack);
      expect((await me(u.token)).status).toBe(200);
      await stack.mongo?.stop();
      try {
        // The session check (token version, account present) is answered by the cached user.
        const t = await stack.call("GET", "/api/v1/auth/sse-ticket", { token: u.token });
        expect(t.status).toBe(200);
        expect((await stack.call("GET", `/api/v1/users/${u.user.id}`)).status).toBe(200);
      } finally {
        await stack.mongo?.restart();
      }
    },
  );
});

describe("usernames", () => {
  test("unique case-insensitively; stored lower-case", async () => {
    const a = await registerUser(stack, { username: "Case_Person" });
    expect(a.user.username).toBe("case_person");
    const clash = await callJson(stack, "POST", "/api/v1/auth/register", {
      body: { email: "case2@example.test", username: "CASE_PERSON", password: "password-123" },
    });
    expect(clash.status).toBe(409);
    expect(clash.body.error?.code).toBe("USERNAME_TAKEN");
  });

  test("control and bidi characters are 400", async () => {
    for (const username of ["abc\u202Edef", "ab\u0000cd", "ab\u200Fcd", "tab\tname", "naïve"]) {
      const r = await callJson(stack, "POST", "/api/v1/auth/register", {
        body: { email: "ctl@example.test", username, password: "password-123" },
      });
      expect(r.status).toBe(400);
    }
  });
});

describe("one id parser: canonical lower-case ObjectIds or 400", () => {
  test("upper-case or mixed-case ids are 400 on every id route, never acted on", async () => {
    const admin = await loginAdmin(stack);
    const u = await registerUser(stack);
    const upper = u.user.id.toUpperCase();
    for (const [method, path] of [
      ["POST", `/api/v1/cache/validate/${upper}`],
      ["POST", `/api/v1/cache/invalidate/${upper}`],
      ["POST", `/api/v1/cache/sync/${upper}`],
      ["GET", `/api/v1/users/${upper}`],
      ["PUT", `/api/v1/deposits/${upper}/approve`],
      ["PUT", `/api/v1/withdrawals/${upper}/reject`],
    ] as const) {
      const r = await callJson(stack, method, path, { token: admin });
      expect([method, path, r.status]).toEqual([method, path, 400]);
      expect(r.body.error?.code).toBe("VALIDATION_ERROR");
    }
    const bulk = await callJson(stack, "POST", "/api/v1/cache/bulk-sync", {
      token: admin,
      body: { userIds: [upper] },
    });
    expect(bulk.status).toBe(400);
  });

  test("the same on the per-collection cache routes and GET /listings/{id}; the entry is left alone", async () => {
    const admin = await loginAdmin(stack);
    const listing = await seedListing(stack.ctx);
    expect((await callJson(stack, "GET", `/api/v1/listings/${listing.id}`)).status).toBe(200);
    const key = entryKey(stack.config.CACHE_PREFIX, "listing", listing.id);
    const before = await stack.stores.cache.get(key);
    expect(before).not.toBeNull();
    const upper = listing.id.toUpperCase();
    const mixed = `${listing.id.slice(0, 12)}${listing.id.slice(12).toUpperCase()}`;
    for (const id of [upper, mixed])
      for (const [method, path] of [
        ["POST", `/api/v1/cache/listings/validate/${id}`],
        ["POST", `/api/v1/cache/listings/sync/${id}`],
        ["POST", `/api/v1/cache/listings/invalidate/${id}`],
        ["POST", `/api/v1/cache/users/invalidate/${id}`],
        ["GET", `/api/v1/listings/${id}`],
      ] as const) {
        const r = await callJson(stack, method, path, { token: admin });
        expect([method, path, r.status]).toEqual([method, path, 400]);
        expect(r.body.error?.code).toBe("VALIDATION_ERROR");
      }
    const bulk = await callJson(stack, "POST", "/api/v1/cache/listings/bulk-sync", {
      token: admin,
      body: { ids: [upper] },
    });
    expect(bulk.status).toBe(400);
    // Not emptied, rebuilt nor re-read under another spelling of the id.
    expect(await stack.stores.cache.get(key)).toBe(before);
  });
});
