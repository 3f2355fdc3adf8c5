/**
 * The near cache (docs/NEAR-CACHE.md) on two instances of one deployment, B's Redis link behind a
 * fault proxy: invalidations arrive through the feed, a partition that loses them is repaired by
 * reading the feed forward from the last applied id, and a feed trimmed past that id drops B's
 * near cache instead.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readScope } from "../../plugins/cache/cache-sync/read-floor";
import type { SanitizedUser } from "../../plugins/features/users";
import { type JitteredDeployment, startJitteredDeployment } from "../support/jittered-deployment";
import { seedUser } from "../support/seed";
import { createTestStack, type TestStack } from "../support/stack";

let d: JitteredDeployment;
let a: TestStack;
let b: TestStack;

beforeAll(async () => {
  d = await startJitteredDeployment({
    jitter: null,
    env: {
      NEAR_CACHE: "users",
      NEAR_CACHE_HEARTBEAT_MS: 50,
      NEAR_CACHE_FEED_TIMEOUT_MS: 300,
      OBSERVATORY_SAMPLE_RATE: 0,
    },
  });
  [a, b] = d.stacks as [TestStack, TestStack];
});
afterAll(() => d?.close());

/** A read of the user as one carrying a version token (users are near-served only then). */
const read = (s: TestStack, id: string, floor = 1) =>
  readScope.run({ floor, written: [] }, () =>
    s.ctx.use("cache").users.get(id),
  ) as Promise<SanitizedUser>;
const metric = async (s: TestStack, name: string, labels: Record<string, string> = {}) => {
  const m = s.ctx.metrics.registry.getSingleMetric(name);
  const values = (await m?.get())?.values ?? [];
  return values
    .filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
    .reduce((sum, v) => sum + v.value, 0);
};
const write = (s: TestStack, id: string, bio: string) =>
  s.ctx.use("cache").users.update(id, { $set: { bio } }) as Promise<SanitizedUser>;
const healthy = async (s: TestStack, timeoutMs = 3000) => {
  const start = performance.now();
  while ((await metric(s, "cachesync_near_cache_feed_healthy")) !== 1) {
    if (performance.now() - start > timeoutMs) throw new Error("near-cache feed not healthy");
    await Bun.sleep(20);
  }
};

describe("near cache", () => {
  test("off by default; on for the collections NEAR_CACHE names", async () => {
    const plain = await createTestStack({ stores: "memory" });
    try {
      expect(plain.ctx.use("cache").users.engine.near).toBeUndefined();
    } finally {
      await plain.close();
    }
    expect(b.ctx.use("cache").users.engine.near).toBeDefined();
  });

  test("serves hits in process; a write on another instance drops the entry before its next read", async () => {
    await healthy(b);
    const user = await seedUser(a.ctx);
    await read(b, user.id);
    const hitsBefore = await metric(b, "cachesync_near_cache_hits_total");
    expect((await read(b, user.id)).version).toBe(user.version);
    expect(await metric(b, "cachesync_near_cache_hits_total")).toBe(hitsBefore + 1);

    const written = await write(a, user.id, "from A");
    // The feed's delivery time: poll briefly (the bench measures this staleness).
    const start = performance.now();
    while ((await read(b, user.id)).version < written.version) {
      if (performance.now() - start > 1000) throw new Error("B kept serving the older version");
      await Bun.sleep(5);
    }
  });

  test("a queued lastSeenAt drops every near copy: shown at once here, soon on the other instance, then near-served again", async () => {
    await healthy(a);
    await healthy(b);
    const user = await seedUser(a.ctx);
    await read(a, user.id);
    await read(b, user.id);
    const at = Date.now() + 60_000;
    await a.ctx.use("writeBehind").change("users", user.id, { latest: { lastSeenAt: at } });
    const seen = (u: SanitizedUser) =>
      new Date(String((u as { lastSeenAt?: unknown }).lastSeenAt ?? 0)).getTime();
    // The entry carries the time and no overlay is read: the near copies had to go.
    expect(seen(await read(a, user.id))).toBe(at);
    const start = performance.now();
    while (seen(await read(b, user.id)) !== at) {
      if (performance.now() - start > 1000)
        throw new Error("B kept its near copy without the time");
      await Bun.sleep(5);
    }
    const hits = await metric(b, "cachesync_near_cache_hits_total");
    expect(seen(await read(b, user.id))).toBe(at);
    expect(await metric(b, "cachesync_near_cache_hits_total")).toBe(hits + 1);
  });

  test("balances are near-served only to reads carrying a version token", async () => {
    const user = await seedUser(a.ctx);
    await read(b, user.id);
    const hits = await metric(b, "cachesync_near_cache_hits_total");
    await b.ctx.use("cache").users.get(user.id);
    expect(await metric(b, "cachesync_near_cache_hits_total")).toBe(hits);
  });

  test("a partition that loses the feed's messages: bypassed while unhealthy, then read forward from the last applied id", async () => {
    await healthy(b);
    const users = [await seedUser(a.ctx), await seedUser(a.ctx)];
    for (const u of users) await read(b, u.id);
    const replayed = await metric(b, "cachesync_near_cache_replayed_total");
    // Replies (pub/sub messages included) from Redis to B vanish for 1.5 s while A writes.
    const proxy = d.proxies[1]?.redis;
    proxy?.partition("down");
    const written = [];
    for (const u of users) written.push(await write(a, u.id, "while B was cut off"));
    await Bun.sleep(1500);
    proxy?.heal();
    await healthy(b);
    expect(await metric(b, "cachesync_near_cache_replayed_total")).toBeGreaterThan(replayed);
    for (const [i, u] of users.entries())
      expect((await read(b, u.id)).version).toBeGreaterThanOrEqual(written[i]?.version ?? 0);
  });

  test("a feed trimmed past B's position drops B's near cache for that collection", async () => {
    await healthy(b);
    const user = await seedUser(a.ctx);
    await write(a, user.id, "a position for B");
    await Bun.sleep(100);
    await read(b, user.id);
    const drops = await metric(b, "cachesync_near_cache_drops_total", { reason: "trimmed" });
    const proxy = d.proxies[1]?.redis;
    proxy?.partition("down");
    const written = await write(a, user.id, "while B was cut off");
    await write(a, user.id, "and again");
    // Retention ran out meanwhile: only the newest entry is left.
    await d.raw.xtrim(`${b.config.CACHE_PREFIX}near:users`, "MAXLEN", 1);
    await Bun.sleep(800);
    proxy?.heal();
    await healthy(b);
    expect(await metric(b, "cachesync_near_cache_drops_total", { reason: "trimmed" })).toBe(
      drops + 1,
    );
    expect((await read(b, user.id)).version).toBeGreaterThan(written.version);
  });
});
