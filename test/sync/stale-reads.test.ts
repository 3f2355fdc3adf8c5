import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { type JitteredDeployment, startJitteredDeployment } from "../support/jittered-deployment";
import { ownsRedis } from "../support/redis-server";
import { seedListing, seedUser } from "../support/seed";
import {
  type CheckedInstance,
  describeStaleCheck,
  runStaleCheck,
  type StaleCheckOptions,
  type StaleCheckResult,
  waitConverged,
} from "../support/stale-checker";

/**
 * The stale-read checker in the suite: two instances, each talking to Redis and MongoDB through
 * its own jittering proxy (0–4 ms per chunk), a hot user, writers alternating instances
 * (PATCH /users/me), invalidations and evictions, and a nemesis stalling one instance's links
 * now and then. The same checker with each protection switched off is test/consistency
 * (`bun run test:consistency`): there it reports stale reads.
 */
let d: JitteredDeployment;
let ids: string[];
let instances: CheckedInstance[];

beforeAll(async () => {
  d = await startJitteredDeployment({
    env: { CACHE_MARKER_TTL_MS: 5000, REDIS_TIMEOUT_MS: 400, BREAKER_COOLDOWN_MS: 200 },
  });
  const ctx = (d.stacks[0] as (typeof d.stacks)[number]).ctx;
  ids = [];
  for (let i = 0; i < 3; i++) ids.push((await seedUser(ctx)).id);
  instances = await d.checked(ids);
});
afterAll(() => d.close());

const engines = () => d.stacks.map((s) => s.ctx.use("cacheEngine"));

/** Redis is trusted again everywhere: every breaker closed after settling the recorded repairs. */
const repaired = async () =>
  engines().every((e) => e.breaker.current === "closed") &&
  (await d.stacks[0]?.ctx.stores.db.collection("cache_repairs").countDocuments({})) === 0;

/** Every cached entry equals MongoDB's version (absent entries are fine: nothing stale to serve). */
const allConverged = async () => {
  const [s] = d.stacks;
  if (!s) return false;
  for (const id of ids) {
    const raw = await d.raw.get(s.ctx.use("cacheEngine").userKey(id));
    if (!raw || raw.startsWith('{"__')) continue;
    const db = (await s.ctx.stores.db
      .collection("users")
      .findOne({ _id: new ObjectId(id) })) as unknown as { version: number };
    if (JSON.parse(raw).version !== db.version) return false;
  }
  return true;
};

const check = (over: Partial<StaleCheckOptions>) =>
  runStaleCheck({
    instances,
    userIds: ids,
    durationMs: 4000,
    writers: 4,
    evict: d.evict,
    evictEveryMs: 20,
    invalidateEveryMs: 20,
    ...over,
  });

const report = (name: string, r: StaleCheckResult, extra = "") => {
  console.log(`[stale-check] ${name}: ${describeStaleCheck(r)}${extra}`);
  if (r.stale) console.log(JSON.stringify(r.samples));
};

describe("stale-read checker, two jittered instances: zero stale reads", () => {
  test("hot key, concurrent writers on both instances, invalidations, evictions, stalls", async () => {
    // Pinned writers and evictions at the stalls' edges: test:consistency's sharpest load.
    const r = await check({
      pinWriters: true,
      fault: ({ running }) => d.nemesis({ running, evict: ids.slice(0, 1) }),
    });
    await waitConverged(allConverged, 5000);
    report("jitter + nemesis", r);
    expect(r.reads).toBeGreaterThan(100);
    expect(r.writes).toBeGreaterThan(10);
    expect(r.stale).toBe(0);
  });

  test("the same for listings, the second cached collection", async () => {
    const ctx = (d.stacks[0] as (typeof d.stacks)[number]).ctx;
    const listingIds: string[] = [];
    for (let i = 0; i < 3; i++) listingIds.push((await seedListing(ctx)).id);
    const r = await check({
      instances: d.checkedListings(),
      userIds: listingIds,
      evict: d.evictIn("listings"),
      pinWriters: true,
      fault: ({ running }) =>
        d.nemesis({ running, evict: listingIds.slice(0, 1), collection: "listings" }),
    });
    report("listings, jitter + nemesis", r);
    expect(r.reads).toBeGreaterThan(100);
    expect(r.writes).toBeGreaterThan(10);
    expect(r.stale).toBe(0);
  });

  /** Load with one fault in the middle; convergence = Redis back → breakers closed, debts settled. */
  const faultRun = async (name: string, down: () => Promise<void>, up: () => Promise<void>) => {
    let convergeMs = -1;
    const r = await check({
      fault: async () => {
        await Bun.sleep(1000);
        await down();
        await Bun.sleep(1500);
        await up();
        convergeMs = await waitConverged(repaired, 5000);
      },
    });
    await waitConverged(allConverged, 5000);
    report(name, r, ` convergenceMs=${Math.round(convergeMs)}`);
    expect(r.reads).toBeGreaterThan(100);
    expect(r.stale).toBe(0);
    expect(convergeMs).toBeGreaterThanOrEqual(0);
  };

  test.if(ownsRedis)("Redis killed and restarted mid-run", () =>
    faultRun(
      "redis killed",
      () => d.redis.kill(),
      () => d.redis.restart(),
    ),
  );

  test.if(ownsRedis)("Redis paused mid-run", () =>
    faultRun(
      "redis paused",
      async () => d.redis.pause(),
      async () => d.redis.resume(),
    ),
  );
});
