import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Cluster, Redis } from "ioredis";
import type { SanitizedUser } from "../../plugins/features/users";
import { sampled } from "../../plugins/operations/observatory/sampling";
import { createUser, rawRedis, type TestUser, userKeyOf } from "../support/fixtures";
import { createTestStack, type TestStack } from "../support/stack";
import { callJson } from "../support/users";

const BOUNDS = [150, 300, 600];

/** Until every sampled write went through its last bound. */
async function settled(stack: TestStack, sampledAtLeast: number): Promise<void> {
  const obs = stack.ctx.use("observatory");
  for (let i = 0; i < 200; i++) {
    const s = obs.summary();
    if (s.sampled >= sampledAtLeast && s.pending === 0) return;
    await Bun.sleep(25);
  }
  throw new Error(`observatory did not settle: ${JSON.stringify(obs.summary())}`);
}

describe("consistency observatory", () => {
  let stack: TestStack;
  let redis: Redis | Cluster;
  let admin: TestUser;

  beforeAll(async () => {
    stack = await createTestStack({
      env: { OBSERVATORY_SAMPLE_RATE: 1, OBSERVATORY_BOUNDS_MS: BOUNDS.join(",") },
    });
    redis = rawRedis(stack);
    admin = await createUser(stack, { role: "admin" });
  });
  afterAll(async () => {
    redis?.disconnect();
    await stack?.close();
  });

  const patch = async (user: TestUser, bio: string) => {
    const res = await callJson(stack, "PATCH", "/api/v1/users/me", {
      token: user.token,
      body: { bio },
    });
    expect(res.status).toBe(200);
    return res.body.data as SanitizedUser;
  };

  test("acknowledged writes are re-checked at every bound, consistent, and summarised on /cache/stats", async () => {
    const user = await createUser(stack);
    const before = stack.ctx.use("observatory").summary().sampled;
    await patch(user, "one");
    await patch(user, "two");
    await settled(stack, before + 2);

    const { status, body } = await callJson(stack, "GET", "/api/v1/cache/stats", {
      token: admin.token,
    });
    expect(status).toBe(200);
    // The §5 fields are still there, unchanged; the summary is a new field beside them.
    for (const field of ["totalUserKeys", "emailKeys", "redisConnected", "timestamp", "hits"])
      expect(body.data).toHaveProperty(field);
    const c = body.data.consistency;
    expect(c.sampleRate).toBe(1);
    expect(c.bounds.map((b: { afterMs: number }) => b.afterMs)).toEqual(BOUNDS);
    for (const b of c.bounds) {
      expect(b.stale).toBe(0);
      expect(b.consistent).toBeGreaterThanOrEqual(2);
      expect(b.share).toBe(1);
    }
    expect(c.staleness.within[0].count).toBeGreaterThanOrEqual(2);

    const text = await (await stack.call("GET", "/metrics")).text();
    expect(text).toContain('cachesync_observatory_consistent_share{bound="0.15"} 1');
    expect(text).toMatch(/cachesync_observatory_staleness_seconds_bucket\{le="0.15"\} [1-9]/);
  });

  test("a cache entry left behind MongoDB is reported stale at every bound (the check can fail)", async () => {
    const obs = stack.ctx.use("observatory");
    const user = await createUser(stack);
    // The account's own creation is a sampled write too: let its re-checks finish first.
    await settled(stack, obs.summary().sampled);
    const before = obs.summary();
    const written = await patch(user, "newer");
    // Behind the app's back: Redis goes back one version, as a lost write-through would leave it.
    const key = userKeyOf(stack, user.id);
    const entry = JSON.parse((await redis.get(key)) as string) as SanitizedUser;
    await redis.set(key, JSON.stringify({ ...entry, version: written.version - 1 }), "PX", 60_000);
    await settled(stack, before.sampled + 1);

    const after = obs.summary();
    for (const [i, b] of after.bounds.entries())
      expect(b.stale - (before.bounds[i]?.stale ?? 0)).toBe(1);
    expect(after.staleness.unresolved - before.staleness.unresolved).toBe(1);
    const text = await (await stack.call("GET", "/metrics")).text();
    expect(text).toMatch(/cachesync_observatory_stale_total\{bound="0.15",layer="redis"\} [1-9]/);
    await redis.del(key);
  });
});

describe("observatory sampling", () => {
  test("a hash of (id, version): the same writes on every instance, about the configured share", () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => `${i.toString(16).padStart(24, "0")}`);
    const share = ids.filter((id) => sampled(id, 7, 0.1)).length / ids.length;
    expect(share).toBeGreaterThan(0.08);
    expect(share).toBeLessThan(0.12);
    expect(ids.filter((id) => sampled(id, 7, 0.1))).toEqual(
      ids.filter((id) => sampled(id, 7, 0.1)),
    );
    expect(sampled("x", 1, 0)).toBe(false);
    expect(sampled("x", 1, 1)).toBe(true);
  });

  test("OBSERVATORY_SAMPLE_RATE=0 samples nothing", async () => {
    const stack = await createTestStack({ stores: "memory", env: { OBSERVATORY_SAMPLE_RATE: 0 } });
    try {
      const user = await createUser(stack);
      await stack.ctx.use("cacheSync").updateUserWithSync(user.id, { $set: { bio: "x" } });
      await Bun.sleep(50);
      expect(stack.ctx.use("observatory").summary().sampled).toBe(0);
    } finally {
      await stack.close();
    }
  });
});
