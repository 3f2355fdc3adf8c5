import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestStack, type TestStack } from "../support/stack";
import {
  ADMIN_EMAIL,
  ADMIN_ENV,
  ADMIN_PASSWORD,
  callJson,
  loginAdmin,
  registerUser,
} from "../support/users";

let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack({ env: { ...ADMIN_ENV } });
});
afterAll(() => stack.close());

describe("register", () => {
  test("201 with a token and the sanitized user; email trimmed and lower-cased", async () => {
    const r = await callJson(stack, "POST", "/api/v1/auth/register", {
      body: {
        email: "  Mixed.Case@Example.TEST ",
        username: "mixed_case",
        password: "password-123",
      },
    });
    expect(r.status).toBe(201);
    expect(r.body.data.token).toBeString();
    const u = r.body.data.user;
    expect(u.email).toBe("mixed.case@example.test");
    expect(u.id).toMatch(/^[0-9a-f]{24}$/);
    expect(u).not.toHaveProperty("_id");
    expect(u).not.toHaveProperty("passwordHash");
    expect(u.role).toBe("user");
    expect(u.wallet).toEqual({ balance: 0, currency: "USD" });
    expect(u.version).toBe(1);
    const raw = await stack.stores.db
      .collection("users")
      .findOne({ email: "mixed.case@example.test" });
    expect(String(raw?.passwordHash)).toStartWith("$argon2id$");
  });

  test("duplicate email (any case) and duplicate username are 409", async () => {
    const a = await registerUser(stack);
    const e = await callJson(stack, "POST", "/api/v1/auth/register", {
      body: { email: a.email.toUpperCase(), username: "other_name_1", password: "password-123" },
    });
    expect(e.status).toBe(409);
    expect(e.body.error?.code).toBe("EMAIL_TAKEN");
    const n = await callJson(stack, "POST", "/api/v1/auth/register", {
      body: { email: "fresh@example.test", username: a.user.username, password: "password-123" },
    });
    expect(n.status).toBe(409);
    expect(n.body.error?.code).toBe("USERNAME_TAKEN");
  });

  test("invalid bodies are 400: unknown keys (role), bad username, short password, operators", async () => {
    const base = { email: "ok@example.test", username: "ok_user", password: "password-123" };
    for (const body of [
      { ...base, role: "admin" },
      { ...base, wallet: { balance: 1e6 } },
      { ...base, username: "no spaces" },
      { ...base, username: "ab" },
      { ...base, password: "short" },
      { ...base, email: "not-an-email" },
      { ...base, email: { $ne: null } },
    ]) {
      const r = await callJson(stack, "POST", "/api/v1/auth/register", { body });
      expect(r.status).toBe(400);
    }
    expect(
      await stack.stores.db.collection("users").countDocuments({ email: "ok@example.test" }),
    ).toBe(0);
  });
});

describe("login / logout", () => {
  test("login 200; wrong password and unknown email give the same 401", async () => {
    const a = await registerUser(stack);
    const ok = await callJson(stack, "POST", "/api/v1/auth/login", {
      body: { email: a.email, password: a.password },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.data.user.id).toBe(a.user.id);
    const wrong = await callJson(stack, "POST", "/api/v1/auth/login", {
      body: { email: a.email, password: "wrong-password" },
    });
    const unknown = await callJson(stack, "POST", "/api/v1/auth/login", {
      body: { email: "nobody@example.test", password: "wrong-password" },
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body.error).toEqual(unknown.body.error!);
    expect(wrong.body.error?.code).toBe("INVALID_CREDENTIALS");
  });

  test("operator injection in login is 400, never a match", async () => {
    for (const body of [
      { email: { $ne: null }, password: "x" },
      { email: { $gt: "" }, password: { $ne: null } },
      '{"email":"a@b.co","password":"password-1","__proto__":{"role":"admin"}}',
    ]) {
      const r = await callJson(stack, "POST", "/api/v1/auth/login", { body });
      expect(r.status).toBe(400);
    }
  });

  test("logout needs a token and revokes it (see sessions.test.ts)", async () => {
    const a = await registerUser(stack);
    expect((await stack.call("POST", "/api/v1/auth/logout")).status).toBe(401);
    const r = await callJson(stack, "POST", "/api/v1/auth/logout", { token: a.token });
    expect(r.status).toBe(200);
    expect(r.body.data).toEqual({ loggedOut: true });
    expect((await stack.call("GET", "/api/v1/users/me", { token: a.token })).status).toBe(401);
  });

  test("bad tokens are 401; an SSE ticket is not a bearer token", async () => {
    const a = await registerUser(stack);
    for (const token of ["garbage", `${a.token}x`, "e30.e30.e30"]) {
      expect((await stack.call("GET", "/api/v1/users/me", { token })).status).toBe(401);
    }
    const t = await callJson(stack, "GET", "/api/v1/auth/sse-ticket", { token: a.token });
    expect(t.status).toBe(200);
    expect(t.body.data.expiresIn).toBe(60);
    expect(
      (await stack.call("GET", "/api/v1/users/me", { token: t.body.data.ticket })).status,
    ).toBe(401);
    const auth = stack.ctx.use("auth");
    expect(await auth.verifySseTicket(t.body.data.ticket)).toMatchObject({
      id: a.user.id,
      email: a.email,
      role: "user",
    });
    expect(await auth.verifySseTicket(a.token)).toBeNull();
  });
});

describe("admin bootstrap", () => {
  test("the admin exists and can log in", async () => {
    const token = await loginAdmin(stack);
    const me = await callJson(stack, "GET", "/api/v1/users/me", { token });
    expect(me.body.data.user.role).toBe("admin");
    expect(me.body.data.user.email).toBe(ADMIN_EMAIL);
  });

  test("two instances starting at once on one database create exactly one admin, and a restart never overwrites its password", async () => {
    const first = await createTestStack({
      redis: stack.redis,
      mongo: stack.mongo,
      env: { ...ADMIN_ENV },
    });
    const env = { ...ADMIN_ENV };
    const [b, c] = await Promise.all([
      createTestStack({ redis: stack.redis, mongo: stack.mongo, dbName: first.dbName, env }),
      createTestStack({ redis: stack.redis, mongo: stack.mongo, dbName: first.dbName, env }),
    ]);
    const d = await createTestStack({
      redis: stack.redis,
      mongo: stack.mongo,
      dbName: first.dbName,
      env: { ...ADMIN_ENV, ADMIN_PASSWORD: "a-different-password" },
    });
    try {
      expect(await first.stores.db.collection("users").countDocuments({ role: "admin" })).toBe(1);
      expect(typeof (await loginAdmin(d, ADMIN_EMAIL, ADMIN_PASSWORD))).toBe("string");
      expect(
        (
          await d.call("POST", "/api/v1/auth/login", {
            body: { email: ADMIN_EMAIL, password: "a-different-password" },
          })
        ).status,
      ).toBe(401);
    } finally {
      await Promise.all([b.close(), c.close(), d.close()]);
      await first.close();
    }
  });

  test("fresh database, several instances racing from the very start: one admin", async () => {
    const dbName = `cs_test_boot_${Math.random().toString(36).slice(2, 8)}`;
    const stacks = await Promise.all(
      Array.from({ length: 3 }, () =>
        createTestStack({ redis: stack.redis, mongo: stack.mongo, dbName, env: { ...ADMIN_ENV } }),
      ),
    );
    try {
      expect(
        await stacks[0].stores.db.collection("users").countDocuments({ email: ADMIN_EMAIL }),
      ).toBe(1);
    } finally {
      await Promise.all(stacks.map((s) => s.close()));
    }
  });
});
