import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { userKey } from "../../plugins/cache-sync";
import type { CacheSyncService } from "../../src/domain/cache-sync";
import { ownsRedis } from "../support/redis-server";
import { seedUser } from "../support/seed";
import { createTestStack, type TestStack } from "../support/stack";
import { runStaleCheck, type StaleCheckResult, waitConverged } from "../support/stale-checker";

let stack: TestStack;
let svc: CacheSyncService;
let ids: string[];

beforeAll(async () => {
  stack = await createTestStack({
    env: { REDIS_TIMEOUT_MS: 150, BREAKER_COOLDOWN_MS: 200, CACHE_MARKER_TTL_MS: 5000 },
  });
  svc = stack.ctx.use("cacheSync");
  ids = (await Promise.all(Array.from({ length: 8 }, () => seedUser(stack.ctx)))).map((u) => u.id);
});
afterAll(() => stack.close());

/** Redis is trusted again: the breaker closed after settling every recorded repair. */
const repaired = async () =>
  stack.ctx.use("cacheEngine").breaker.current === "closed" &&
  (await stack.ctx.db.collection("cache_repairs").countDocuments({})) === 0;

/** Every cached entry equals MongoDB's version (absent entries are fine: nothing stale to serve). */
const allConverged = async () => {
  for (const id of ids) {
    const raw = await stack.stores.cache.get(userKey(stack.config.CACHE_PREFIX, id));
    if (!raw) continue;
    const db = (await stack.ctx.db
      .collection("users")
      .findOne({ _id: new ObjectId(id) })) as unknown as { version: number };
    if (JSON.parse(raw).version !== db.version) return false;
  }
  return true;
};

const report = (name: string, r: StaleCheckResult, convergeMs: number) => {
  console.log(
    `[stale-check] ${name}: reads=${r.reads} writes=${r.writes} invalidations=${r.invalidations} errors=${r.errors} stale=${r.stale} maxConvergenceMs=${Math.round(convergeMs)}`,
  );
  if (r.stale) console.log(JSON.stringify(r.samples));
};

describe("stale-read checker: zero stale reads", () => {
  test("plain load", async () => {
    const r = await runStaleCheck({ service: svc, userIds: ids, durationMs: 2000 });
    const ms = await waitConverged(allConverged, 2000);
    report("plain", r, ms);
    expect(r.reads).toBeGreaterThan(100);
    expect(r.stale).toBe(0);
  });

  /** Load with one fault in the middle; convergence = Redis back → breaker closed, debts settled. */
  const faultRun = async (name: string, down: () => Promise<void>, up: () => Promise<void>) => {
    let convergeMs = -1;
    const r = await runStaleCheck({
      service: svc,
      userIds: ids,
      durationMs: 3000,
      fault: async () => {
        await Bun.sleep(700);
        await down();
        await Bun.sleep(700);
        await up();
        convergeMs = await waitConverged(repaired, 2000);
      },
    });
    await waitConverged(allConverged, 2000);
    report(name, r, convergeMs);
    expect(r.stale).toBe(0);
    expect(convergeMs).toBeGreaterThanOrEqual(0);
  };

  test.if(ownsRedis)("Redis killed and restarted mid-run", () =>
    faultRun(
      "redis killed",
      async () => stack.redis?.kill(),
      async () => stack.redis?.restart(),
    ),
  );

  test.if(ownsRedis)("Redis paused mid-run", () =>
    faultRun(
      "redis paused",
      async () => stack.redis?.pause(),
      async () => stack.redis?.resume(),
    ),
  );
});
