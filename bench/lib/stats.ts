/** Percentiles, medians and the closed-loop load runner every section uses. */

/** Nearest-rank percentile of an unsorted sample (copied and sorted here). */
export function percentile(values: ArrayLike<number>, p: number): number {
  const n = values.length;
  if (n === 0) return Number.NaN;
  const sorted = Float64Array.from(values as ArrayLike<number>).sort();
  const rank = Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1));
  return sorted[rank] as number;
}

/** Several percentiles from one sort. */
export function percentiles(values: ArrayLike<number>, ps: readonly number[]): number[] {
  const n = values.length;
  if (n === 0) return ps.map(() => Number.NaN);
  const sorted = Float64Array.from(values as ArrayLike<number>).sort();
  return ps.map(
    (p) => sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))] as number,
  );
}

export function median(values: readonly number[]): number {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return Number.NaN;
  const mid = xs.length >> 1;
  return xs.length % 2 ? (xs[mid] as number) : ((xs[mid - 1] as number) + (xs[mid] as number)) / 2;
}

export function minMax(values: readonly number[]): [number, number] {
  const xs = values.filter((v) => Number.isFinite(v));
  return xs.length ? [Math.min(...xs), Math.max(...xs)] : [Number.NaN, Number.NaN];
}

/** Growable sample buffer (latencies in µs) without per-sample allocation. */
export class Samples {
  private buf = new Float64Array(1 << 16);
  length = 0;
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  view(): Float64Array {
    return this.buf.subarray(0, this.length);
  }
}

export interface LoadResult {
  ops: number;
  errors: number;
  seconds: number;
  opsPerSec: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
}

export interface LoadOptions {
  /** Operations in flight at once (workers in a closed loop). */
  concurrency: number;
  durationMs: number;
  /** Untimed warm-up with the same concurrency, not recorded. */
  warmupMs?: number;
  /** Untimed step before each operation (e.g. invalidate before a miss); counted in wall time only. */
  before?: (worker: number) => Promise<unknown>;
}

/**
 * Closed loop: `concurrency` workers each await `op` back to back until the deadline. Latency is
 * the time `op` took (µs); throughput is completed ops over the wall time of the window.
 */
export async function closedLoop(
  op: (worker: number) => Promise<unknown>,
  opts: LoadOptions,
): Promise<LoadResult> {
  if (opts.warmupMs) await phase(op, { ...opts, durationMs: opts.warmupMs }, null);
  const samples = new Samples();
  const r = await phase(op, opts, samples);
  const lat = samples.view();
  const [p50, p99] = percentiles(lat, [50, 99]);
  let sum = 0;
  for (const v of lat) sum += v;
  return {
    ops: r.ops,
    errors: r.errors,
    seconds: r.seconds,
    opsPerSec: r.ops / r.seconds,
    p50Us: p50 as number,
    p99Us: p99 as number,
    meanUs: lat.length ? sum / lat.length : Number.NaN,
  };
}

async function phase(
  op: (worker: number) => Promise<unknown>,
  opts: LoadOptions,
  samples: Samples | null,
): Promise<{ ops: number; errors: number; seconds: number }> {
  let ops = 0;
  let errors = 0;
  const start = performance.now();
  const deadline = start + opts.durationMs;
  const worker = async (w: number) => {
    while (performance.now() < deadline) {
      if (opts.before) await opts.before(w);
      const t0 = performance.now();
      try {
        await op(w);
        const dt = performance.now() - t0;
        samples?.push(dt * 1000);
        ops++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, (_, w) => worker(w)));
  return { ops, errors, seconds: (performance.now() - start) / 1000 };
}

/** Formatting helpers for tables. */
export const fmt = {
  int: (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString("en-US") : "n/a"),
  us: (v: number) =>
    Number.isFinite(v) ? (v >= 100 ? Math.round(v).toString() : v.toFixed(1)) : "n/a",
  ms: (v: number) =>
    Number.isFinite(v) ? (v >= 100 ? Math.round(v).toString() : v.toFixed(2)) : "n/a",
  ratio: (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : "n/a"),
  mb: (bytes: number) => (Number.isFinite(bytes) ? (bytes / 1024 / 1024).toFixed(1) : "n/a"),
};
