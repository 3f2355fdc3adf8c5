import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { eventsTopic } from "../../plugins/cache/events";
import { sseMetrics } from "../../plugins/features/sse";
import { createUser, type TestUser } from "../support/fixtures";
import { createTestStack, type TestStack } from "../support/stack";
import { openEvents, type SseReader } from "./sse-client";

/**
 * Two API instances on one Redis and one database: writes go through A, browsers listen on B,
 * over real HTTP, so the events cross the Redis bus as they do in production.
 */
describe("GET /api/v1/events across two instances", () => {
  let a: TestStack;
  let b: TestStack;
  let server: Server<undefined>;
  let base: string;
  let alice: TestUser;
  let bob: TestUser;
  let admin: TestUser;
  const open: SseReader[] = [];
  const listen = async (opts: Parameters<typeof openEvents>[1]) => {
    const r = await openEvents(base, opts);
    open.push(r);
    return r;
  };

  beforeAll(async () => {
    a = await createTestStack({ env: { SSE_HEARTBEAT_MS: 150 } });
    b = await createTestStack({
      redis: a.redis,
      mongo: a.mongo,
      dbName: a.dbName,
      env: { SSE_HEARTBEAT_MS: 150, SSE_MAX_PER_USER: 2 },
    });
    server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: b.app.fetch });
    base = `http://127.0.0.1:${server.port}`;
    alice = await createUser(a);
    bob = await createUser(a);
    admin = await createUser(a, { role: "admin" });
  });

  afterAll(async () => {
    await Promise.all(open.map((r) => r.close()));
    server?.stop(true);
    await b?.close();
    await a?.close();
  });

  test("a write on A reaches the owner and admins on B within 500 ms, and nobody else", async () => {
    const aliceStream = await listen({ token: alice.token });
    const bobStream = await listen({ token: bob.token });
    const adminStream = await listen({
      ticket: await b.ctx
        .use("auth")
        .issueSseTicket({ id: admin.id, role: "admin", email: admin.email }),
    });

    const started = performance.now();
    const updated = await a.ctx
      .use("cacheSync")
      .updateUserWithSync(alice.id, { $set: { bio: "hello from A" } }, { reason: "profile edit" });
    const frame = await aliceStream.nextEvent(500);
    const latencyMs = frame.at - started;
    console.log(
      `SSE delivery A→B (write + publish + Redis bus + HTTP stream): ${latencyMs.toFixed(1)} ms`,
    );
    expect(latencyMs).toBeLessThan(500);

    expect(frame.id).toMatch(/\S/);
    const data = JSON.parse(frame.data ?? "{}");
    expect(data.type).toBeUndefined();
    expect(data).toMatchObject({
      userId: alice.id,
      version: updated?.version,
      reason: "profile edit",
    });
    expect(data.changed).toEqual(["bio"]);
    expect(data.user).toMatchObject({ id: alice.id, bio: "hello from A" });
    expect(typeof data.at).toBe("string");
    expect(frame.data).not.toContain("passwordHash");

    const adminFrame = await adminStream.nextEvent(500);
    expect(adminFrame.id).toBe(frame.id as string);

    await Bun.sleep(300);
    expect(bobStream.events()).toHaveLength(0);
    expect(await sseMetrics(b.ctx.metrics).eventsDelivered.get()).toMatchObject({
      values: [{ value: 2 }],
    });
  });

  test("reconnecting with Last-Event-ID replays the missed events once, then goes live", async () => {
    const first = await listen({ token: alice.token });
    await a.ctx.use("cacheSync").updateUserWithSync(alice.id, { $set: { displayName: "Alice 1" } });
    const seen = await first.nextEvent(1000);
    await first.close();

    // Missed while disconnected: one of Alice's and one of Bob's (must not be replayed to her).
    await a.ctx.use("cacheSync").updateUserWithSync(alice.id, { $set: { displayName: "Alice 2" } });
    await a.ctx.use("cacheSync").updateUserWithSync(bob.id, { $set: { displayName: "Bob 2" } });
    await a.ctx.use("cacheSync").updateUserWithSync(alice.id, { $set: { displayName: "Alice 3" } });
    await Bun.sleep(50);

    const again = await listen({ token: alice.token, lastEventId: seen.id });
    const r1 = JSON.parse((await again.nextEvent(1000)).data ?? "{}");
    const r2 = JSON.parse((await again.nextEvent(1000)).data ?? "{}");
    expect([r1.user.displayName, r2.user.displayName]).toEqual(["Alice 2", "Alice 3"]);

    await a.ctx.use("cacheSync").updateUserWithSync(alice.id, { $set: { displayName: "Alice 4" } });
    const live = JSON.parse((await again.nextEvent(1000)).data ?? "{}");
    expect(live.user.displayName).toBe("Alice 4");
    await Bun.sleep(100);
    const ids = again.events().map((f) => f.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(3);
    await again.close();
  });

  test("idle streams get heartbeats", async () => {
    const s = await listen({ token: bob.token });
    const hb = await s.next((f) => f.comments.includes("heartbeat"), 1000);
    expect(hb.event).toBeUndefined();
    await s.close();
  });

  test("the token may come from the cs_token cookie; no or bad credentials get 401", async () => {
    const s = await listen({ cookie: `cs_token=${alice.token}` });
    await a.ctx.use("cacheSync").updateUserWithSync(alice.id, { $set: { bio: "cookie" } });
    expect(JSON.parse((await s.nextEvent(1000)).data ?? "{}").user.bio).toBe("cookie");
    await s.close();

    const attempts: Record<string, string>[] = [
      {},
      { authorization: "Bearer nope" },
      { cookie: "cs_token=nope" },
    ];
    for (const headers of attempts) {
      const res = await fetch(`${base}/api/v1/events`, { headers });
      expect(res.status).toBe(401);
      expect((await res.json()).success).toBe(false);
    }
    expect((await fetch(`${base}/api/v1/events?ticket=forged`)).status).toBe(401);
    // A full JWT is not a ticket: long-lived tokens stay out of URLs.
    expect((await fetch(`${base}/api/v1/events?ticket=${alice.token}`)).status).toBe(401);
  });

  test("beyond SSE_MAX_PER_USER the oldest stream is closed with a reason", async () => {
    const s1 = await listen({ token: bob.token });
    const s2 = await listen({ token: bob.token });
    const s3 = await listen({ token: bob.token });
    const bye = await s1.next((f) => f.event === "close", 1000);
    expect(JSON.parse(bye.data ?? "{}")).toEqual({ reason: "evicted" });
    await s1.ended;
    expect(s2.done || s3.done).toBe(false);
    await a.ctx.use("cacheSync").updateUserWithSync(bob.id, { $set: { bio: "still here" } });
    await s2.nextEvent(1000);
    await s3.nextEvent(1000);
    await Promise.all([s2.close(), s3.close()]);
  });

  test("closed streams are unregistered (gauge back to zero)", async () => {
    await Promise.all(open.map((r) => r.close()));
    const deadline = Date.now() + 2000;
    let clients = -1;
    while (Date.now() < deadline) {
      clients = (await sseMetrics(b.ctx.metrics).sseClients.get()).values[0]?.value ?? 0;
      if (clients === 0) break;
      await Bun.sleep(20);
    }
    expect(clients).toBe(0);
  });
});

describe("slow clients", () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await createTestStack({ env: { SSE_MAX_QUEUE: 8 } });
  });
  afterAll(() => stack?.close());

  test("a client that stops reading is dropped once SSE_MAX_QUEUE frames wait, others keep flowing", async () => {
    const slowUser = await createUser(stack);
    const fastUser = await createUser(stack);
    // In process, an unread body applies backpressure at once (no socket buffers to fill first).
    const slow = await stack.call("GET", "/api/v1/events", { token: slowUser.token });
    expect(slow.status).toBe(200);
    const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: stack.app.fetch });
    try {
      const fast = await openEvents(`http://127.0.0.1:${server.port}`, { token: fastUser.token });
      const topic = eventsTopic(stack.config.CACHE_PREFIX);
      for (let i = 0; i < 40; i++) {
        const user = { id: slowUser.id, displayName: `n${i}`, padding: "x".repeat(4096) };
        await stack.ctx.bus.publish(
          topic,
          JSON.stringify({
            type: "userDataUpdated",
            userId: slowUser.id,
            version: i,
            changed: [],
            user,
            at: new Date().toISOString(),
          }),
        );
      }
      await stack.ctx.bus.publish(
        topic,
        JSON.stringify({
          type: "userDataUpdated",
          userId: fastUser.id,
          version: 1,
          changed: [],
          user: { id: fastUser.id },
          at: new Date().toISOString(),
        }),
      );
      await fast.nextEvent(1000);

      // The slow stream was closed, not buffered: reading it now reaches the end quickly.
      const text = await Promise.race([slow.text(), Bun.sleep(2000).then(() => "TIMEOUT")]);
      expect(text).not.toBe("TIMEOUT");
      expect((text.match(/event: userDataUpdated/g) ?? []).length).toBeLessThan(40);
      expect((await sseMetrics(stack.ctx.metrics).sseClients.get()).values[0]?.value).toBe(1);
      await fast.close();
    } finally {
      server.stop(true);
    }
  });
});
