import { afterAll, expect, test } from "bun:test";
import { openEvents, type SseReader } from "../sse/sse-client";
import { ownsRedis, type RedisHarness, startRedis } from "../support/redis-server";
import { createTestStack, type TestStack } from "../support/stack";
import { waitConverged } from "../support/stale-checker";
import { registerUser } from "../support/users";

let redis: RedisHarness | undefined;
let stack: TestStack | undefined;
let server: ReturnType<typeof Bun.serve> | undefined;
let events: SseReader | undefined;

afterAll(async () => {
  await events?.close();
  server?.stop(true);
  await stack?.close();
  await redis?.stop();
});

test.if(ownsRedis)(
  "the API starts with Redis down, works on MongoDB, and picks Redis (cache and live events) up when it returns",
  async () => {
    redis = await startRedis();
    await redis.kill();
    stack = await createTestStack({ redis, env: { BREAKER_COOLDOWN_MS: 200 } });
    server = Bun.serve({ port: 0, fetch: stack.app.fetch, idleTimeout: 0 });

    const u = await registerUser(stack);
    const me = await stack.call("GET", "/api/v1/users/me", { token: u.token });
    expect(me.status).toBe(200);
    const patched = await stack.call("PATCH", "/api/v1/users/me", {
      token: u.token,
      body: { bio: "while Redis was down" },
    });
    expect(patched.status).toBe(200);
    expect((await stack.call("GET", "/ready")).status).toBe(503);

    await redis.restart();
    await waitConverged(async () => (await stack!.call("GET", "/ready")).status === 200, 5000);
    // The bus subscription is retried in the background; once it is up, a write reaches a stream.
    events = await openEvents(server.url.href, { token: u.token });
    let delivered = false;
    for (let i = 0; i < 40 && !delivered; i++) {
      await stack.call("PATCH", "/api/v1/users/me", { token: u.token, body: { bio: `back ${i}` } });
      delivered = await events.nextEvent(250).then(
        () => true,
        () => false,
      );
    }
    expect(delivered).toBe(true);
    await waitConverged(
      async () => stack!.ctx.use("cacheEngine").breaker.current === "closed",
      5000,
    );
    const cached = await stack.stores.cache.get(stack.ctx.use("cacheEngine").userKey(u.user.id));
    expect(cached === null || JSON.parse(cached).bio.startsWith("back")).toBe(true);
  },
  30_000,
);
