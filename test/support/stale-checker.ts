import type { CacheSyncService } from "../../src/domain/cache-sync";

export interface OpRecord {
  kind: "read" | "write";
  userId: string;
  start: number;
  end: number;
  version: number;
}

export interface StaleCheckOptions {
  service: CacheSyncService;
  userIds: readonly string[];
  durationMs: number;
  writers?: number;
  readers?: number;
  /** Probability per read-loop iteration of a random invalidation. */
  invalidateRate?: number;
  /** Runs once, concurrently with the load (kill Redis, pause it…). */
  fault?: () => Promise<void>;
}

export interface StaleCheckResult {
  reads: number;
  writes: number;
  invalidations: number;
  errors: number;
  stale: number;
  /** A few offending reads, for the failure message. */
  samples: { read: OpRecord; newestAcknowledged: number }[];
}

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)] as T;

/**
 * Jepsen-style stale-read check: every operation records invoke and completion times and the
 * version it wrote or saw; a read is stale when it returns a version older than a write on the
 * same user that completed before the read was invoked.
 */
export async function runStaleCheck(opts: StaleCheckOptions): Promise<StaleCheckResult> {
  const { service, userIds } = opts;
  const ops: OpRecord[] = [];
  let errors = 0;
  let invalidations = 0;
  const deadline = performance.now() + opts.durationMs;

  const writer = async () => {
    while (performance.now() < deadline) {
      const userId = pick(userIds);
      const start = performance.now();
      try {
        const u = await service.updateUserWithSync(userId, {
          $set: { bio: Math.random().toString(36) },
        });
        if (u)
          ops.push({ kind: "write", userId, start, end: performance.now(), version: u.version });
      } catch {
        errors++;
      }
    }
  };
  const reader = async () => {
    while (performance.now() < deadline) {
      const userId = pick(userIds);
      if (Math.random() < (opts.invalidateRate ?? 0.05)) {
        invalidations++;
        await service.invalidateUserCache(userId).catch(() => errors++);
        continue;
      }
      const start = performance.now();
      try {
        const u = await service.getUserWithSync(userId);
        if (u)
          ops.push({ kind: "read", userId, start, end: performance.now(), version: u.version });
      } catch {
        errors++;
      }
    }
  };

  await Promise.all([
    ...Array.from({ length: opts.writers ?? 4 }, writer),
    ...Array.from({ length: opts.readers ?? 8 }, reader),
    opts.fault?.(),
  ]);
  return { ...checkStale(ops), invalidations, errors };
}

/** The check itself, separate so it can be tested on hand-made histories. */
export function checkStale(
  ops: readonly OpRecord[],
): Omit<StaleCheckResult, "invalidations" | "errors"> {
  const writes = ops.filter((o) => o.kind === "write").sort((a, b) => a.end - b.end);
  const reads = ops.filter((o) => o.kind === "read");
  const byUser = new Map<string, OpRecord[]>();
  for (const w of writes) {
    const list = byUser.get(w.userId) ?? [];
    list.push(w);
    byUser.set(w.userId, list);
  }
  let stale = 0;
  const samples: StaleCheckResult["samples"] = [];
  for (const r of reads) {
    let newest = 0;
    for (const w of byUser.get(r.userId) ?? []) {
      if (w.end >= r.start) break;
      if (w.version > newest) newest = w.version;
    }
    if (r.version < newest) {
      stale++;
      if (samples.length < 5) samples.push({ read: r, newestAcknowledged: newest });
    }
  }
  return { reads: reads.length, writes: writes.length, stale, samples };
}

/**
 * Polls until every cached entry equals MongoDB's version (or is absent); resolves with the time
 * it took, or rejects after `timeoutMs`.
 */
export async function waitConverged(
  check: () => Promise<boolean>,
  timeoutMs = 2000,
): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await check().catch(() => false)) return performance.now() - start;
    if (performance.now() - start > timeoutMs)
      throw new Error(`cache did not converge within ${timeoutMs} ms`);
    await Bun.sleep(25);
  }
}
