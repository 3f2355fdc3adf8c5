/**
 * A short Jepsen-style run in `bun run test` (docs/CONSISTENCY.md, "History checker"): two
 * instances behind jittering fault proxies, stalls and one-way partitions between each instance
 * and each store, clients reading, writing, paying and following SSE with reconnects — every
 * operation recorded, then checked. Validated by mutation: with versioned writes switched off the
 * same run must report stale reads. The long run is in the bench (`--only history`).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { checkHistory, describeHistory } from "../support/history-checker";
import { historyNemesis, runHistory } from "../support/history-run";
import { type JitteredDeployment, startJitteredDeployment } from "../support/jittered-deployment";
import { ADMIN_EMAIL, ADMIN_ENV, ADMIN_PASSWORD } from "../support/users";

let d: JitteredDeployment;

/**
 * docs/CONSISTENCY.md, Limits: an instance cut off from Redis records its debt and stops trusting
 * Redis, while the others serve the older entry until the debt is settled — at most the partition
 * (200 ms here) plus BREAKER_COOLDOWN_MS (1 s) plus the probe's own round trips. Lost MongoDB
 * replies to one instance also let a few reads there lag (≤ 100 ms seen; docs/CONSISTENCY.md,
 * "History checker": found by this run, not yet explained), so they are checked here too.
 */
const PARTITION_BOUND_MS = 2000;

beforeAll(async () => {
  d = await startJitteredDeployment({
    env: {
      ...ADMIN_ENV,
      ADMIN_INITIAL_BALANCE: 1_000_000_000,
      SSE_HEARTBEAT_MS: 200,
      CACHE_MARKER_TTL_MS: 5000,
      OBSERVATORY_SAMPLE_RATE: 0,
    },
  });
});
afterAll(async () => {
  await d?.close();
});

type Nemesis = (running: () => boolean) => Promise<void>;
const both =
  (...ns: Nemesis[]): Nemesis =>
  async (running) => {
    await Promise.all(ns.map((n) => n(running)));
  };

const run = (durationMs: number, nemesis: Nemesis) =>
  runHistory({
    deployment: d,
    admin: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
    durationMs,
    writers: 3,
    nemesis,
  });

/** The faults the guarantee covers: stalls on every link, lost requests towards MongoDB. */
const covered = () =>
  both(
    historyNemesis(d, {
      stores: ["mongo"],
      faults: ["stall", "partition-up"],
      everyMs: 400,
      faultMs: 200,
    }),
    historyNemesis(d, { stores: ["redis"], faults: ["stall"], everyMs: 300, faultMs: 100 }),
  );

/**
 * The SSE replay sends the stream as published (docs/CONSISTENCY.md, Limits): after a reconnect
 * an event published out of version order can follow a newer one. Counted and printed, not
 * asserted, until the replay filters by version.
 */
const asserted = (r: ReturnType<typeof checkHistory>) =>
  r.violations.filter((v) => v.invariant !== "event-order");

describe("history checker over the fault proxy", () => {
  test("stalls on every link, lost requests towards MongoDB: no stale read, version, money or SSE-loss violation", async () => {
    const h = await run(6000, covered());
    const report = checkHistory(h.ops, { feed: h.feed, subscribedAfter: h.subscribedAfter });
    console.log(`[history] ${describeHistory(report)}`);
    expect(report.counts["read:ok"] ?? 0).toBeGreaterThan(200);
    expect(report.counts["write:ok"] ?? 0).toBeGreaterThan(20);
    expect(report.counts["money:ok"] ?? 0).toBeGreaterThan(0);
    expect(report.counts["event:ok"] ?? 0).toBeGreaterThan(20);
    expect(asserted(report)).toEqual([]);
  }, 60_000);

  test("one-way partitions to Redis (both ways) and of MongoDB's replies: stale reads end within the stated bound", async () => {
    const h = await run(
      6000,
      both(
        historyNemesis(d, {
          stores: ["redis"],
          everyMs: 600,
          faultMs: 200,
          faults: ["partition-up", "partition-down"],
        }),
        historyNemesis(d, { stores: ["mongo"], faults: ["partition-down"], everyMs: 700 }),
      ),
    );
    const strict = checkHistory(h.ops, { feed: h.feed, subscribedAfter: h.subscribedAfter });
    console.log(`[history, Redis partitions, bound 0] ${describeHistory(strict)}`);
    const report = checkHistory(h.ops, {
      feed: h.feed,
      subscribedAfter: h.subscribedAfter,
      staleBoundMs: PARTITION_BOUND_MS,
    });
    console.log(
      `[history, Redis partitions, bound ${PARTITION_BOUND_MS} ms] ${describeHistory(report)}`,
    );
    expect(asserted(report)).toEqual([]);
  }, 60_000);

  test("mutation: versioned writes switched off, the checker reports stale reads", async () => {
    d.setProtection("versionedWrites", false);
    try {
      const h = await run(8000, covered());
      const report = checkHistory(h.ops, { feed: h.feed, subscribedAfter: h.subscribedAfter });
      console.log(`[history, versioned writes off] ${describeHistory(report)}`);
      expect(report.byInvariant["stale-read"] ?? 0).toBeGreaterThan(0);
    } finally {
      d.setProtection("versionedWrites", true);
    }
  }, 60_000);
});
