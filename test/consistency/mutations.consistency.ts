/**
 * `bun run test:consistency`: the stale-read checker validated by mutation. With every protection
 * on it reports 0 stale reads; with any one switched off (plugins/cache-sync/protections.ts) it
 * reports stale reads — so its zero says something about each of them. Not part of `bun test`
 * (it runs for about a minute, two at most); `.ci/run` calls it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { ProtectionName } from "../../plugins/cache-sync/protections";
import { type JitteredDeployment, startJitteredDeployment } from "../support/jittered-deployment";
import { seedUser } from "../support/seed";
import {
  type CheckedInstance,
  describeStaleCheck,
  runStaleCheck,
  type StaleCheckResult,
} from "../support/stale-checker";

let d: JitteredDeployment;
let hot: string[];
let instances: CheckedInstance[];
const figures: string[] = [];

beforeAll(async () => {
  d = await startJitteredDeployment({
    env: { CACHE_MARKER_TTL_MS: 5000, REDIS_TIMEOUT_MS: 1000 },
  });
  hot = [(await seedUser((d.stacks[0] as (typeof d.stacks)[number]).ctx)).id];
  instances = await d.checked(hot);
});
afterAll(async () => {
  console.log(`[mutations]\n${figures.join("\n")}`);
  await d.close();
});

/** How long every protection on must hold at 0; a mutation run's cap (it stops at 3 stale). */
const ALL_ON_MS = 20_000;
const MUTATION_CAP_MS = 30_000;

/**
 * One hot user, 4 writers (2 pinned to each instance), reads arriving every 2 ms on each
 * instance, an invalidation and an eviction every 20 ms, and the nemesis stalling one instance's
 * link to MongoDB (replies) or Redis (requests) for 100 ms out of every 150 — evicting the hot
 * key as each stall begins and right before it ends. That last part is what fill leases alone
 * close: loads on the slow instance read version n, the other instance's writers acknowledge
 * n+1…, the eviction empties the key, and the slow loads' fills arrive in it before anyone
 * refills it. With uniform evictions only (every 20 ms) and alternating writers, the leases-off
 * run found 0 or 1 stale reads in 30 s (~25,000 reads); now it finds 3 within seconds.
 */
const workload = (opts: { durationMs: number; evictions: boolean; stopAfterStale?: number }) =>
  runStaleCheck({
    instances,
    userIds: hot,
    durationMs: opts.durationMs,
    writers: 4,
    pinWriters: true,
    evict: opts.evictions ? d.evict : undefined,
    evictEveryMs: 20,
    invalidateEveryMs: 20,
    stopAfterStale: opts.stopAfterStale,
    fault: ({ running }) => d.nemesis({ running, evict: opts.evictions ? hot : [] }),
  });

const note = (label: string, r: StaleCheckResult) => {
  const line = `${label.padEnd(58)} ${describeStaleCheck(r)}`;
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

describe("the stale-read checker bites when a protection is removed", () => {
  test(
    "every protection on: 0 stale reads",
    async () => {
      const r = await workload({ durationMs: ALL_ON_MS, evictions: true });
      note("all protections on", r);
      expect(r.reads).toBeGreaterThan(1000);
      expect(r.stale).toBe(0);
    },
    ALL_ON_MS + 15_000,
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
          workload({ durationMs: MUTATION_CAP_MS, evictions: true, stopAfterStale: 3 }),
        );
        note(label, r);
        expect(r.stale).toBeGreaterThan(0);
      },
      MUTATION_CAP_MS + 15_000,
    );
  }

  /**
   * With fill leases on, a tombstone and a DEL leave the same thing for a fill: a key it may not
   * enter. Tombstones are the protection when leases are not there (a fill that could not take
   * one, list-cache keys), so they are checked there: leases off, invalidations but no evictions
   * (an eviction is a DEL no tombstone can stand in for).
   */
  test(
    "tombstones off (fill leases off, no evictions): stale reads > 0, and 0 with tombstones on",
    async () => {
      const on = await without(["fillLeases"], () =>
        workload({ durationMs: 10_000, evictions: false }),
      );
      note("fill leases off, tombstones on (no evictions)", on);
      const off = await without(["fillLeases", "tombstones"], () =>
        workload({ durationMs: MUTATION_CAP_MS, evictions: false, stopAfterStale: 3 }),
      );
      note("fill leases off, tombstones off (no evictions)", off);
      expect(on.stale).toBe(0);
      expect(off.stale).toBeGreaterThan(0);
    },
    MUTATION_CAP_MS + 30_000,
  );
});
