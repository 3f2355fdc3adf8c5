import type { Op } from "./history";

/** One entry of the change feed (the Redis Stream behind SSE replay), for the lost-event check. */
export interface FeedEntry {
  id: string;
  key: string;
  version: number;
}

export interface HistoryCheckOptions {
  /**
   * How long after a write's acknowledgement a token-less read may still miss it (0: the
   * guarantee of docs/CONSISTENCY.md; a near cache states its own). Reads carrying a version
   * token get no such allowance.
   */
  staleBoundMs?: number;
  /** The feed as stored at the end of the run; without it the lost-event check is skipped. */
  feed?: readonly FeedEntry[];
  /** Per subscriber process, the feed id it started after (events before it are not expected). */
  subscribedAfter?: Record<string, string>;
}

export type Invariant =
  | "stale-read" // a read older than a write acknowledged (bound) before it began
  | "token-read" // a read older than the version token it presented
  | "version-order" // a write's version not above one acknowledged before it began
  | "event-order" // a subscriber saw a user's version go backwards
  | "event-lost" // a feed entry a subscriber neither received nor saw superseded
  | "ledger" // balance ≠ ledger sum, a negative balance, or money lost / doubled
  | "bad-op"; // an op the checker cannot read

export interface Violation {
  invariant: Invariant;
  message: string;
  ops: Op[];
}

export interface HistoryReport {
  valid: boolean;
  counts: Record<string, number>;
  violations: Violation[];
  /** Violations per invariant (the list keeps the first few of each). */
  byInvariant: Partial<Record<Invariant, number>>;
  /** The longest time a stale read began after the write it missed was acknowledged (ms). */
  maxStaleMs: number;
}

/** The highest version among `writes` that ended before `t`: writes sorted by end, prefix max. */
class Floor {
  private readonly ends: number[] = [];
  private readonly max: number[] = [];
  private readonly who: Op[] = [];

  constructor(writes: readonly Op[]) {
    const sorted = [...writes].sort((a, b) => a.end - b.end);
    let m = Number.NEGATIVE_INFINITY;
    let best: Op | undefined;
    for (const w of sorted) {
      if ((w.value ?? 0) > m) {
        m = w.value ?? 0;
        best = w;
      }
      this.ends.push(w.end);
      this.max.push(m);
      this.who.push(best as Op);
    }
  }

  /** [version, the write that set it] for writes with end < t, or undefined. */
  before(t: number): [number, Op] | undefined {
    let lo = 0;
    let hi = this.ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.ends[mid] as number) < t) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? undefined : [this.max[lo - 1] as number, this.who[lo - 1] as Op];
  }
}

/** Redis stream ids ("ms-seq") and the in-process bus's numeric ids, compared as numbers. */
export function compareFeedIds(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split("-").map((p) => BigInt(p));
  const [bm = 0n, bs = 0n] = b.split("-").map((p) => BigInt(p));
  return am === bm ? Number(as - bs) : am < bm ? -1 : 1;
}

const groupBy = <T>(xs: readonly T[], key: (x: T) => string) => {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const list = m.get(k);
    if (list) list.push(x);
    else m.set(k, [x]);
  }
  return m;
};

/**
 * Checks a recorded history against the invariants of docs/CONSISTENCY.md and SPEC §5/§8:
 * no read older than the last write acknowledged before it began (after the stated bound; never
 * for a read carrying a version token), versions only grow, ledger = balance with every credit
 * applied once, and no SSE event lost across reconnects with `Last-Event-ID`.
 */
export function checkHistory(ops: readonly Op[], opts: HistoryCheckOptions = {}): HistoryReport {
  const violations: Violation[] = [];
  const byInvariant: Partial<Record<Invariant, number>> = {};
  const violate = (invariant: Invariant, message: string, involved: Op[]) => {
    byInvariant[invariant] = (byInvariant[invariant] ?? 0) + 1;
    if ((byInvariant[invariant] ?? 0) <= 5) violations.push({ invariant, message, ops: involved });
  };
  const bound = opts.staleBoundMs ?? 0;
  let maxStaleMs = 0;
  const okWrites = ops.filter((o) => o.kind === "write" && o.outcome === "ok");
  const writesByKey = groupBy(okWrites, (o) => o.key);
  const floors = new Map([...writesByKey].map(([k, ws]) => [k, new Floor(ws)]));

  // Reads: never older than a write acknowledged before they began.
  const reads = ops.filter((o) => o.kind === "read" && o.outcome === "ok");
  for (const r of reads) {
    if (r.value === undefined) {
      violate("bad-op", `read #${r.index} is ok without a version`, [r]);
      continue;
    }
    if (r.minVersion !== undefined && r.value < r.minVersion)
      violate(
        "token-read",
        `read #${r.index} on ${r.instance} presented version ${r.minVersion} and got ${r.value}`,
        [r],
      );
    const allowance = r.minVersion !== undefined ? 0 : bound;
    const floor = floors.get(r.key)?.before(r.start - allowance);
    if (floor && r.value < floor[0]) {
      // How late: from the newest write it missed (not the floor's) to the read's start.
      const missed = writesByKey
        .get(r.key)
        ?.filter((w) => (w.value ?? 0) > (r.value ?? 0) && w.end < r.start)
        .reduce((m, w) => Math.max(m, r.start - w.end), 0);
      maxStaleMs = Math.max(maxStaleMs, missed ?? 0);
      violate(
        "stale-read",
        `read #${r.index} on ${r.instance} got version ${r.value}; version ${floor[0]} was acknowledged ${(r.start - floor[1].end).toFixed(1)} ms before it began (write #${floor[1].index})`,
        [r, floor[1]],
      );
    }
  }

  // Writes: a version above every one acknowledged before the write began, never one twice.
  for (const [key, ws] of writesByKey) {
    const floor = floors.get(key) as Floor;
    for (const w of ws) {
      const before = floor.before(w.start);
      if (before && (w.value ?? 0) <= before[0])
        violate(
          "version-order",
          `write #${w.index} acknowledged version ${w.value} after version ${before[0]} was acknowledged (write #${before[1].index})`,
          [w, before[1]],
        );
    }
    const seen = new Map<number, Op>();
    for (const w of ws) {
      const other = seen.get(w.value ?? 0);
      if (other)
        violate("version-order", `writes #${other.index} and #${w.index} both got ${w.value}`, [
          other,
          w,
        ]);
      seen.set(w.value ?? 0, w);
    }
  }

  // Events: per subscriber and user, versions never go back; no feed entry lost.
  const events = ops.filter((o) => o.kind === "event" && o.outcome === "ok");
  for (const [, evs] of groupBy(events, (e) => `${e.process}\u0000${e.key}`)) {
    let last: Op | undefined;
    for (const e of [...evs].sort((a, b) => a.start - b.start)) {
      if (last && (e.value ?? 0) < (last.value ?? 0))
        violate(
          "event-order",
          `${e.process} received version ${e.value} of ${e.key} after version ${last.value}`,
          [last, e],
        );
      if (!last || (e.value ?? 0) >= (last.value ?? 0)) last = e;
    }
  }
  if (opts.feed && opts.subscribedAfter) {
    for (const [process, after] of Object.entries(opts.subscribedAfter)) {
      const mine = events.filter((e) => e.process === process);
      const key = mine[0]?.key;
      const ids = new Set(mine.map((e) => String(e.meta?.eventId)));
      const newest = Math.max(0, ...mine.map((e) => e.value ?? 0));
      for (const entry of opts.feed) {
        if (entry.key !== key || compareFeedIds(entry.id, after) <= 0) continue;
        // An entry may be skipped only for a newer version of the same user the subscriber got.
        if (ids.has(entry.id) || newest > entry.version) continue;
        violate(
          "event-lost",
          `${process} never received feed entry ${entry.id} (${entry.key} version ${entry.version}) nor a newer version`,
          [],
        );
      }
    }
  }

  // Money: ledger = balance, nothing negative, each acknowledged credit applied once.
  for (const a of ops.filter((o) => o.kind === "audit" && o.outcome === "ok")) {
    const balance = a.value ?? 0;
    const ledger = Number(a.meta?.ledger);
    const initial = Number(a.meta?.initial ?? 0);
    if (balance !== ledger)
      violate("ledger", `${a.key}: balance ${balance} but the ledger sums to ${ledger}`, [a]);
    if (balance < 0) violate("ledger", `${a.key}: negative balance ${balance}`, [a]);
    const money = ops.filter((o) => o.kind === "money" && o.key === a.key);
    const sure = money.filter((o) => o.outcome === "ok").reduce((s, o) => s + (o.value ?? 0), 0);
    const maybe = money
      .filter((o) => o.outcome === "info")
      .reduce((s, o) => s + Number(o.meta?.amount ?? 0), 0);
    const moved = balance - initial;
    if (moved < sure || moved > sure + maybe)
      violate(
        "ledger",
        `${a.key}: balance moved by ${moved}; acknowledged credits ${sure}, indeterminate ${maybe}`,
        [a],
      );
  }

  const counts: Record<string, number> = {};
  for (const o of ops)
    counts[`${o.kind}:${o.outcome}`] = (counts[`${o.kind}:${o.outcome}`] ?? 0) + 1;
  return { valid: violations.length === 0, counts, violations, byInvariant, maxStaleMs };
}

/** One line per violation kind, for test output and the bench log. */
export function describeHistory(r: HistoryReport): string {
  const counts = Object.entries(r.counts)
    .sort()
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  if (r.valid) return `valid (${counts})`;
  const kinds = Object.entries(r.byInvariant)
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ");
  return `INVALID — ${kinds}; stale reads up to ${r.maxStaleMs.toFixed(0)} ms late (${counts})\n${r.violations.map((v) => `  ${v.invariant}: ${v.message}`).join("\n")}`;
}
