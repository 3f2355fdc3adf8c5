import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import type { Server } from "bun";
import { sign } from "hono/jwt";
import { defaultPlugins } from "../../app/plugins";
import { authPlugin } from "../../plugins/features/auth";
import { openEvents, type SseReader } from "../sse/sse-client";
import { ownsRedis } from "../support/redis-server";
import { createTestStack, type TestStack } from "../support/stack";
import { callJson, registerUser } from "../support/users";

/**
 * SPEC §8: logout revokes the session — the token and the streams opened with it; a stream ends
 * when its credential expires; an SSE ticket opens one stream, once. Two instances on one Redis
 * and one database, served over real HTTP: logout on A, streams on B.
 */
let a: TestStack;
let b: TestStack;
let server: Server<undefined>;
let base: string;
const open: SseReader[] = [];
const listen = async (opts: Parameters<typeof openEvents>[1]) => {
  const r = await openEvents(base, opts);
  open.push(r);
  return r;
};

beforeAll(async () => {
  a = await createTestStack({ env: { SSE_HEARTBEAT_MS: 200 } });
  b = await createTestStack({
    redis: a.redis,
    mongo: a.mongo,
    dbName: a.dbName,
    env: { SSE_HEARTBEAT_MS: 200 },
  });
  server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: b.app.fetch });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(async () => {
  await Promise.all(open.map((r) => r.close()));
  server?.stop(true);
  await b?.close();
  await a?.close();
});

const login = async (email: string, password: string) =>
  (await callJson(a, "POST", "/api/v1/auth/login", { body: { email, password } })).body.data
    .token as string;
const ticketFor = async (token: string) =>
  (await callJson(a, "GET", "/api/v1/auth/sse-ticket", { token })).body.data.ticket as string;
const closeReason = async (r: SseReader, timeoutMs = 3000) =>
  JSON.parse((await r.next((f) => f.event === "close", timeoutMs)).data ?? "{}").reason;

describe("logout", () => {
  test("revokes the token on every instance, and every other token of the account", async () => {
    const u = await registerUser(a);
    const second = await login(u.email, u.password);
    expect((await b.call("GET", "/api/v1/users/me", { token: u.token })).status).toBe(200);
    const out = await a.call("POST", "/api/v1/auth/logout", { token: u.token });
    expect(out.status).toBe(200);
    for (const s of [a, b])
      for (const token of [u.token, second]) {
        expect((await s.call("GET", "/api/v1/users/me", { token })).status).toBe(401);
        expect((await s.call("POST", "/api/v1/auth/logout", { token })).status).toBe(401);
      }
    // A fresh login is a new session.
    const again = await login(u.email, u.password);
    expect((await b.call("GET", "/api/v1/users/me", { token: again })).status).toBe(200);
    // A ticket minted before the logout opens nothing.
    const u2 = await registerUser(a);
    const stale = await ticketFor(u2.token);
    await a.call("POST", "/api/v1/auth/logout", { token: u2.token });
    expect((await fetch(`${base}/api/v1/events?ticket=${stale}`)).status).toBe(401);
  });

  test("closes the streams the revoked tokens opened (bearer and ticket), not a new session's", async () => {
    const u = await registerUser(a);
    const byBearer = await listen({ token: u.token });
    const byTicket = await listen({ ticket: await ticketFor(u.token) });
    const other = await registerUser(a);
    const bystander = await listen({ token: other.token });

    await a.call("POST", "/api/v1/auth/logout", { token: u.token });
    expect(await closeReason(byBearer)).toBe("revoked");
    expect(await closeReason(byTicket)).toBe("revoked");
    await byBearer.ended;
    await byTicket.ended;
    // Nothing of the logout reached the streams as an event.
    expect(byBearer.events()).toHaveLength(0);

    // A new session's stream lives on, and still gets the account's events.
    const fresh = await listen({ token: await login(u.email, u.password) });
    await a.ctx
      .use("cacheSync")
      .updateUserWithSync(u.user.id, { $set: { bio: "after logout" } }, { reason: "test" });
    expect(JSON.parse((await fresh.nextEvent(3000)).data ?? "{}").user.bio).toBe("after logout");
    expect(bystander.done).toBe(false);
  });
});

describe("SSE credentials", () => {
  test("the stream of an account deleted behind the API ends at its next session check", async () => {
    const u = await registerUser(a);
    const stream = await listen({ token: u.token });
    // No event announces a deletion: the periodic check (every 4 heartbeats) finds it.
    await a.ctx.repo.collection("users").deleteOne({ _id: new ObjectId(u.user.id) });
    expect(await closeReason(stream, 5000)).toBe("revoked");
  }, 20_000);

  test("a ticket opens one stream: the second use is 401", async () => {
    const u = await registerUser(a);
    const ticket = await ticketFor(u.token);
    await listen({ ticket });
    const again = await fetch(`${base}/api/v1/events?ticket=${ticket}`);
    expect(again.status).toBe(401);
    await again.body?.cancel();
  });

  test.if(ownsRedis)(
    "while Redis is down a ticket is refused (503): its single use could not be recorded",
    async () => {
      const u = await registerUser(a);
      const ticket = await ticketFor(u.token);
      a.redis?.pause();
      try {
        const r = await fetch(`${base}/api/v1/events?ticket=${ticket}`);
        expect(r.status).toBe(503);
        expect(((await r.json()) as { error: { code: string } }).error.code).toBe(
          "STORE_UNAVAILABLE",
        );
      } finally {
        a.redis?.resume();
      }
    },
    20_000,
  );

  test("a stream ends when the token that opened it expires", async () => {
    const u = await registerUser(a);
    const iat = Math.floor(Date.now() / 1000);
    const shortLived = await sign(
      { sub: u.user.id, email: u.email, role: "user", tv: 0, typ: "access", iat, exp: iat + 2 },
      a.config.JWT_SECRET as string,
      "HS256",
    );
    const stream = await listen({ token: shortLived });
    // And a ticket minted from it never outlives it either.
    const ticket = await ticketFor(shortLived);
    const viaTicket = await listen({ ticket });
    expect(await closeReason(stream, 5000)).toBe("expired");
    expect(await closeReason(viaTicket, 1000)).toBe("expired");
    await stream.ended;
  }, 20_000);
});

describe("the checks notice a missing protection", () => {
  test("with the session check switched off (test only), a logged-out token still works", async () => {
    const unchecked = await createTestStack({
      redis: a.redis,
      mongo: a.mongo,
      plugins: defaultPlugins().map((p) =>
        p.name === "auth" ? authPlugin({ withoutSessionCheckForTest: true }) : p,
      ),
    });
    try {
      const u = await registerUser(unchecked);
      await unchecked.call("POST", "/api/v1/auth/logout", { token: u.token });
      // What "revokes the token on every instance" asserts to be 401.
      expect((await unchecked.call("GET", "/api/v1/users/me", { token: u.token })).status).toBe(
        200,
      );
    } finally {
      await unchecked.close();
    }
  });
});
