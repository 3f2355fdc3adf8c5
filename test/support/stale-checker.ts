import type { CacheSyncService } from "../../plugins/cache/cache-sync";

/**
 * A stale-read checker that can fail (docs/CONSISTENCY.md): a read is stale when the version it
 * returns is below the highest version acknowledged — a write's response received, on any
 * instance — before the read began. Versions come from MongoDB (`version` bumped in the same
 * update), so with several writers they, not a per-writer counter, order the writes.
 *
 * The check is online: a read snapshots the acknowledged floor of its key when it begins and
 * compares when it ends, so a million reads cost a million map look-ups, not a history scan.
 */
export class StaleRecorder {
  private readonly acked = new Map<string, number>();
  reads = 0;
  writes = 0;
  stale = 0;
  /** Stale reads per instance name. */
  readonly staleBy: Record<string, number> = {};
  /** The largest "versions behind" seen. */
  maxLag = 0;
  /** The first few stale reads, for the failure message. */
  readonly samples: StaleSample[] = [];

  /** A write on `key` was acknowledged with `version`. */
  acknowledged(key: string, version: number): void {
    this.writes++;
    if (version > (this.acked.get(key) ?? 0)) this.acked.set(key, version);
  }

  /** The highest version acknowledged so far on `key` (0: none). */
  floor(key: string): number {
    return this.acked.get(key) ?? 0;
  }

  /**
   * Runs a read and checks it. `read` resolves with the version it saw (null: not found, not
   * checked). Errors propagate to the caller.
   */
  async read(key: string, instance: string, read: () => Promise<number | null>): Promise<void> {
    const floor = this.floor(key);
    const startedAt = performance.now();
    const version = await read();
    if (version === null) return;
    this.reads++;
    if (version >= floor) return;
    this.stale++;
    this.staleBy[instance] = (this.staleBy[instance] ?? 0) + 1;
    this.maxLag = Math.max(this.maxLag, floor - version);
    if (this.samples.length < 5)
      this.samples.push({ key, instance, version, floor, startedAt: Math.round(startedAt) });
  }
}

export interface StaleSample {
  key: string;
  instance: string;
  /** What the read returned. */
  version: number;
  /** The highest version acknowledged before it began. */
  floor: number;
  startedAt: number;
}

/** One API instance as the checker drives it. */
export interface CheckedInstance {
  name: string;
  /** Resolves with the version read (null: not found). */
  read(userId: string): Promise<number | null>;
  /** Resolves, once acknowledged, with the version written (null: not written). */
  write(userId: string, n: number): Promise<number | null>;
  /** An invalidation as the admin route makes it. */
  invalidate(userId: string): Promise<void>;
}

/** A `CheckedInstance` on the library API alone (one process, no HTTP). */
export function serviceInstance(name: string, service: CacheSyncService): CheckedInstance {
  return {
    name,
    read: async (id) => (await service.getUserWithSync(id))?.version ?? null,
    write: async (id, n) =>
      (await service.updateUserWithSync(id, { $set: { bio: `write ${n}` } }))?.version ?? null,
    invalidate: (id) => service.invalidateUserCache(id),
  };
}

export interface StaleCheckOptions {
  instances: readonly CheckedInstance[];
  /** The first id is the hot key: half the operations go to it. */
  userIds: readonly string[];
  durationMs: number;
  /** Stops early once this many reads were checked. */
  maxReads?: number;
  /** Stops early once this many stale reads were seen (a mutation run has made its point). */
  stopAfterStale?: number;
  /** Writer loops; each alternates instances from one write to the next. Default 2. */
  writers?: number;
  /**
   * Writer w stays on instance w (mod the count) instead of alternating: while one instance is
   * slow its writers wait, and the others keep acknowledging newer versions — so a load waiting
   * in the slow instance falls behind what is acknowledged elsewhere (an alternating writer soon
   * waits on the slow instance too, and the acknowledgements stop).
   */
  pinWriters?: boolean;
  /**
   * Reads arrive on each instance at this pace whatever the earlier ones are doing (open loop,
   * like independent clients): closed-loop readers would all sit in one load and none would
   * arrive while it runs. Default 2 ms.
   */
  readEveryMs?: number;
  /** Reads a batch launches per instance each time (1 by default). */
  readBurst?: number;
  /** Cap on reads in flight per instance. Default 256. */
  maxInFlight?: number;
  /** An invalidation every this many ms (alternating instances); 0: none. Default 5. */
  invalidateEveryMs?: number;
  /** An eviction (`evict`) every this many ms; 0: none. Default 5. */
  evictEveryMs?: number;
  /** Removes a user's entry behind the app's back (a plain DEL on Redis: memory pressure). */
  evict?: (userId: string) => Promise<unknown>;
  /**
   * Runs once, concurrently with the load (kill Redis, stall a proxy…); `running()` turns false
   * when the load stops, `reads()` counts the reads checked so far.
   */
  fault?: (load: { running: () => boolean; reads: () => number }) => Promise<void>;
}

export interface StaleCheckResult {
  reads: number;
  writes: number;
  invalidations: number;
  evictions: number;
  /** Calls that failed (a store down during a fault): not checked, counted. */
  errors: number;
  errorSamples: string[];
  stale: number;
  staleBy: Record<string, number>;
  maxLag: number;
  samples: StaleSample[];
  ms: number;
}

/** One line for test output and the bench log. */
export const describeStaleCheck = (r: StaleCheckResult): string =>
  `reads=${r.reads} stale=${r.stale}${r.stale ? ` (${JSON.stringify(r.staleBy)}, up to ${r.maxLag} versions behind)` : ""} writes=${r.writes} invalidations=${r.invalidations} evictions=${r.evictions} errors=${r.errors} in ${(r.ms / 1000).toFixed(1)} s`;

/**
 * The workload that provokes the races: concurrent writers on different instances, readers on
 * every instance, invalidations and evictions, all on a hot key — checked by `StaleRecorder`.
 */
export async function runStaleCheck(opts: StaleCheckOptions): Promise<StaleCheckResult> {
  const { instances, userIds } = opts;
  if (instances.length === 0 || userIds.length === 0)
    throw new Error("runStaleCheck needs instances and users");
  const rec = new StaleRecorder();
  let errors = 0;
  const errorSamples: string[] = [];
  const failed = (err: unknown) => {
    errors++;
    if (errorSamples.length < 3) errorSamples.push(String(err));
  };
  let invalidations = 0;
  let evictions = 0;
  const t0 = performance.now();
  const deadline = t0 + opts.durationMs;
  const running = () =>
    performance.now() < deadline &&
    rec.reads < (opts.maxReads ?? Infinity) &&
    rec.stale < (opts.stopAfterStale ?? Infinity);
  const pick = () =>
    Math.random() < 0.5
      ? (userIds[0] as string)
      : (userIds[Math.floor(Math.random() * userIds.length)] as string);
  const at = (i: number) => instances[i % instances.length] as CheckedInstance;

  const writer = async (w: number) => {
    for (let n = w; running(); n++) {
      const id = pick();
      try {
        const v = await at(opts.pinWriters ? w : n).write(id, n);
        if (v !== null) rec.acknowledged(id, v);
      } catch (err) {
        failed(err);
        await Bun.sleep(5);
      }
    }
  };
  const reader = async (inst: CheckedInstance) => {
    let inFlight = 0;
    const one = async () => {
      inFlight++;
      try {
        const id = pick();
        await rec.read(id, inst.name, () => inst.read(id));
      } catch (err) {
        failed(err);
      } finally {
        inFlight--;
      }
    };
    const pending = new Set<Promise<void>>();
    while (running()) {
      for (let b = 0; b < (opts.readBurst ?? 1); b++) {
        if (inFlight >= (opts.maxInFlight ?? 256)) break;
        const p = one();
        pending.add(p);
        void p.then(() => pending.delete(p));
      }
      await Bun.sleep(opts.readEveryMs ?? 2);
    }
    await Promise.all(pending);
  };
  const every = async (ms: number, act: (n: number) => Promise<unknown>) => {
    if (ms <= 0) return;
    for (let n = 0; running(); n++) {
      await Bun.sleep(ms);
      await act(n).catch(failed);
    }
  };

  await Promise.all([
    ...Array.from({ length: opts.writers ?? 2 }, (_, i) => writer(i)),
    ...instances.map(reader),
    every(opts.invalidateEveryMs ?? 5, async (n) => {
      invalidations++;
      await at(n).invalidate(pick());
    }),
    opts.evict
      ? every(opts.evictEveryMs ?? 5, async () => {
          evictions++;
          await opts.evict?.(pick());
        })
      : undefined,
    opts.fault?.({ running, reads: () => rec.reads }),
  ]);
  return {
    reads: rec.reads,
    writes: rec.writes,
    invalidations,
    evictions,
    errors,
    errorSamples,
    stale: rec.stale,
    staleBy: rec.staleBy,
    maxLag: rec.maxLag,
    samples: rec.samples,
    ms: performance.now() - t0,
  };
}

/**
 * Polls until `check` holds (every cached entry equals MongoDB's version, a breaker closed…);
 * resolves with the time it took, or rejects after `timeoutMs`.
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

/** One operation of a recorded history, for `checkStale`. */
export interface OpRecord {
  kind: "read" | "write";
  userId: string;
  start: number;
  end: number;
  version: number;
}

/**
 * The same definition of staleness on a recorded history (for runs that record their own
 * operations): a read is stale when it returned a version below that of a write on the same user
 * that completed before the read began.
 */
export function checkStale(ops: readonly OpRecord[]): {
  reads: number;
  writes: number;
  stale: number;
  samples: { read: OpRecord; newestAcknowledged: number }[];
} {
  const writes = ops.filter((o) => o.kind === "write").sort((a, b) => a.end - b.end);
  const byUser = new Map<string, OpRecord[]>();
  for (const w of writes) byUser.set(w.userId, [...(byUser.get(w.userId) ?? []), w]);
  let stale = 0;
  let reads = 0;
  const samples: { read: OpRecord; newestAcknowledged: number }[] = [];
  for (const r of ops) {
    if (r.kind !== "read") continue;
    reads++;
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
  return { reads, writes: writes.length, stale, samples };
}
