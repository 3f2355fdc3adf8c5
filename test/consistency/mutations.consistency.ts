/**
 * `bun run test:consistency`: the stale-read checker validated by mutation. With every protection
 * on it reports 0 stale reads; with any one switched off (plugins/cache/cache-sync/protections.ts) it
 * reports stale reads — so its zero says something about each of them. It runs for each cached
 * collection: users, and listings (the second declared collection, through the same engine);
 * then for users across Redis restarts.
 * Not part of `bun test` (about a minute and a half; a mutation run stops at 30 s); `.ci/run` calls it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { ProtectionName } from "../../plugins/cache/cache-sync/protections";
import { type JitteredDeployment, startJitteredDeployment } from "../support/jittered-deployment";
import { ownsRedis, type RedisHarness, startRedis } from "../support/redis-server";
import { seedListing, seedUser } from "../support/seed";
import {
  type CheckedInstance,
  describeStaleCheck,
  runStaleCheck,
  type StaleCheckResult,
} from "../support/stale-checker";

let d: JitteredDeployment;
const figures: string[] = [];

/** One hot document per cached collection, and the instances as the checker drives them. */
interface Subject {
  collection: "users" | "listings";
  /** How long every protection on must hold at 0 (users carry the longer run). */
  allOnMs: number;
  hot: string[];
  instances: CheckedInstance[];
}
const subjects: Subject[] = [
  { collection: "users", allOnMs: 20_000, hot: [], instances: [] },
  { collection: "listings", allOnMs: 10_000, hot: [], instances: [] },
];

beforeAll(async () => {
  d = await startJitteredDeployment({
    env: { CACHE_MARKER_TTL_MS: 5000, REDIS_TIMEOUT_MS: 1000 },
  });
  const ctx = (d.stacks[0] as (typeof d.stacks)[number]).ctx;
  const [users, listings] = subjects as [Subject, Subject];
  users.hot = [(await seedUser(ctx)).id];
  users.instances = await d.checked(users.hot);
  listings.hot = [(await seedListing(ctx)).id];
  listings.instances = d.checkedListings();
});
afterAll(async () => {
  console.log(`[mutations]\n${figures.join("\n")}`);
  await d.close();
});

/** A mutation run's cap (it stops at its third stale read). */
const MUTATION_CAP_MS = 30_000;

/**
 * One hot document, 4 writers (2 pinned to each instance), a read arriving every 1 ms on each
 * instance, an invalidation and an eviction every 20 ms, and the nemesis stalling one instance's
 * link to MongoDB (replies) or Redis (requests) for 100 ms out of every 150 — evicting the hot
 * key as each stall begins and right before it ends. That last part is what fill leases alone
 * close: loads on the slow instance read version n, the other instance's writers acknowledge
 * n+1…, the eviction empties the key, and the slow loads' fills arrive in it before anyone
 * refills it. Such a fill is overwritten within milliseconds (the next fill, write-through or
 * invalidation), so reads must be dense to catch it: at one read per 2 ms the leases-off run
 * sometimes went 30 s without its third stale read on a loaded machine; at 1 ms it finds ~20 a
 * second. With uniform evictions only and alternating writers it found 0 or 1 in 30 s.
 */
const workload = (
  s: Subject,
  opts: { durationMs: number; evictions: boolean; stopAfterStale?: number },
) =>
  runStaleCheck({
    instances: s.instances,
    userIds: s.hot,
    durationMs: opts.durationMs,
    writers: 4,
    readEveryMs: 1,
    pinWriters: true,
    evict: opts.evictions ? d.evictIn(s.collection) : undefined,
    evictEveryMs: 20,
    invalidateEveryMs: 20,
    stopAfterStale: opts.stopAfterStale,
    fault: ({ running }) =>
      d.nemesis({
        running,
        collection: s.collection,
        evict: opts.evictions ? s.hot : [],
      }),
  });

const note = (s: Subject, label: string, r: StaleCheckResult) => {
  const line = `${`${s.collection}: ${label}`.padEnd(68)} ${describeStaleCheck(r)}`;
  figures.push(line);
  console.log(`[mutations] ${line}`);
};

/** Runs with `off` switched off on every instance, then switches them back on. */
const without = async <T>(off: ProtectionName[], run: () => Promise<T>): Promise<T> => {
  for (const p of off) d.setProtection(p, false);
  try {
    return await run();
  } finally {
    for (const p of off) d.setProtection(p, true);
  }
};

describe.each(subjects)(
  "$collection: the stale-read checker bites when a protection is removed",
  (s) => {
    test(
      "every protection on: 0 stale reads",
      async () => {
        const r = await workload(s, { durationMs: s.allOnMs, evictions: true });
        note(s, "all protections on", r);
        expect(r.reads).toBeGreaterThan(500);
        expect(r.stale).toBe(0);
      },
      s.allOnMs + 15_000,
    );

    const mutations: [ProtectionName, string][] = [
      ["versionedWrites", "versioned writes off (set-if-newer → plain SET)"],
      ["fillLeases", "fill leases off"],
      ["singleFlightRule", "single-flight rule off (joiners until the load ends)"],
    ];
    for (const [name, label] of mutations) {
      test(
        `${label}: stale reads > 0`,
        async () => {
          const r = await without([name], () =>
            workload(s, { durationMs: MUTATION_CAP_MS, evictions: true, stopAfterStale: 3 }),
          );
          note(s, label, r);
          expect(r.stale).toBeGreaterThan(0);
        },
        MUTATION_CAP_MS + 15_000,
      );
    }

    /**
     * With fill leases on, a tombstone and a DEL leave the same thing for a fill: a key it may not
     * enter. Tombstones are the protection when leases are not there (a fill that could not take
     * one, owner-list keys), so they are checked there: leases off, invalidations but no evictions
     * (an eviction is a DEL no tombstone can stand in for).
     */
    test(
      "tombstones off (fill leases off, no evictions): stale reads > 0, and 0 with tombstones on",
      async () => {
        const on = await without(["fillLeases"], () =>
          workload(s, { durationMs: 10_000, evictions: false }),
        );
        note(s, "fill leases off, tombstones on (no evictions)", on);
        const off = await without(["fillLeases", "tombstones"], () =>
          workload(s, { durationMs: MUTATION_CAP_MS, evictions: false, stopAfterStale: 3 }),
        );
        note(s, "fill leases off, tombstones off (no evictions)", off);
        expect(on.stale).toBe(0);
        expect(off.stale).toBeGreaterThan(0);
      },
      MUTATION_CAP_MS + 30_000,
    );
  },
);

/**
 * Redis SIGKILLed and restarted three times (1 s down each) under the same load on ten users,
 * the nemesis all along. Redis keeps an append-only file fsynced before each reply, so it comes
 * back with every write it acknowledged — and without the write-throughs it missed while it was
 * down: those were recorded as debts, and what stands between them and a stale read is each
 * instance's failover fence (a new run_id: reads wait for the repair of the recorded debts) and
 * its breaker's probe. With the repair switched off (`repairDebts`), the entries older than
 * those writes are served after the restart. (Without persistence, a restart empties Redis and
 * the debts have nothing left to repair: the soak of `bun run bench` runs that case.)
 */
describe("users: Redis killed and restarted (append-only file)", () => {
  let redis: RedisHarness;
  let k: JitteredDeployment;
  let users: string[] = [];
  let instances: CheckedInstance[] = [];

  beforeAll(async () => {
    if (!ownsRedis) return;
    redis = await startRedis({ single: true, aof: true });
    k = await startJitteredDeployment({
      redis,
      env: { CACHE_MARKER_TTL_MS: 5000, REDIS_TIMEOUT_MS: 400, BREAKER_COOLDOWN_MS: 500 },
    });
    const ctx = (k.stacks[0] as (typeof k.stacks)[number]).ctx;
    users = [];
    for (let i = 0; i < 10; i++) users.push((await seedUser(ctx)).id);
    instances = await k.checked(users);
  });
  afterAll(async () => {
    await k?.close();
    await redis?.stop();
  });

  const restarts = (opts: { durationMs: number; stopAfterStale?: number }) =>
    runStaleCheck({
      instances,
      userIds: users,
      durationMs: opts.durationMs,
      writers: 4,
      readEveryMs: 1,
      pinWriters: true,
      evict: k.evict,
      evictEveryMs: 20,
      invalidateEveryMs: 20,
      stopAfterStale: opts.stopAfterStale,
      fault: async ({ running }) => {
        const kills = async () => {
          for (let i = 0; i < 3 && running(); i++) {
            await Bun.sleep(1500);
            await redis.kill();
            await Bun.sleep(1000);
            await redis.restart();
          }
        };
        await Promise.all([kills(), k.nemesis({ running, evict: users.slice(0, 1) })]);
      },
    });

  test.if(ownsRedis)(
    "every protection on: 0 stale reads",
    async () => {
      const r = await restarts({ durationMs: 10_000 });
      figures.push(
        `${"users: Redis killed and restarted ×3, all on".padEnd(68)} ${describeStaleCheck(r)}`,
      );
      console.log(`[mutations] ${figures.at(-1)}`);
      expect(r.reads).toBeGreaterThan(500);
      expect(r.stale).toBe(0);
    },
    40_000,
  );

  test.if(ownsRedis)(
    "debts not repaired after the restart (repairDebts off): stale reads > 0",
    async () => {
      for (const s of k.stacks) s.ctx.use("cacheEngine").disableProtectionForTest("repairDebts");
      try {
        const r = await restarts({ durationMs: MUTATION_CAP_MS, stopAfterStale: 3 });
        figures.push(
          `${"users: Redis killed and restarted, repairDebts off".padEnd(68)} ${describeStaleCheck(r)}`,
        );
        console.log(`[mutations] ${figures.at(-1)}`);
        expect(r.stale).toBeGreaterThan(0);
      } finally {
        for (const s of k.stacks)
          s.ctx.use("cacheEngine").disableProtectionForTest("repairDebts", false);
      }
    },
    MUTATION_CAP_MS + 15_000,
  );
});
