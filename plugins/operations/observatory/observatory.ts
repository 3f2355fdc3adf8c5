import type { Logger } from "../../../src/core/logger";
import type { ObservatoryMetrics } from "./metrics";
import { sampled } from "./sampling";
import type { ConsistencyBound, ConsistencySummary } from "./summary";

/** A cache layer the observatory re-checks: the version it would serve, null when it holds none. */
export interface CacheLayer {
  readonly name: string;
  version(userId: string): Promise<number | null>;
}

export interface ObservatoryOptions {
  rate: number;
  boundsMs: readonly number[];
  maxPending: number;
  /** MongoDB's current version of the user; null once the user is gone. */
  truth(userId: string): Promise<number | null>;
  metrics: ObservatoryMetrics;
  logger: Logger;
}

type Outcome = "consistent" | "stale" | "error" | "gone";

/**
 * Polaris-style consistency measurement in production: a share of acknowledged writes is
 * re-checked at fixed bounds after its acknowledgement, MongoDB first and then every cache
 * layer, so a layer behind MongoDB's version read before it is stale with certainty (a write
 * landing between the two reads can only make the cache look newer, never older).
 */
export class Observatory {
  private pending = 0;
  private sampledCount = 0;
  private unresolved = 0;
  private closed = false;
  private readonly layers: CacheLayer[] = [];
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly bounds: ConsistencyBound[];
  private readonly firstConsistent: number[];
  private readonly boundLabels: string[];

  constructor(private readonly opts: ObservatoryOptions) {
    this.bounds = opts.boundsMs.map((afterMs) => ({
      afterMs,
      checked: 0,
      consistent: 0,
      stale: 0,
      errors: 0,
      share: null,
    }));
    this.firstConsistent = opts.boundsMs.map(() => 0);
    this.boundLabels = opts.boundsMs.map((ms) => String(ms / 1000));
  }

  /** Adds a layer to every re-check from now on (the near cache registers itself). */
  addLayer(layer: CacheLayer): void {
    this.layers.push(layer);
  }

  /** A write of `userId` at `version` was acknowledged at `ackedAt` (epoch ms). */
  observe(userId: string, version: number, ackedAt: number): void {
    if (this.closed || !sampled(userId, version, this.opts.rate)) return;
    if (this.pending >= this.opts.maxPending) {
      this.opts.metrics.dropped.inc();
      return;
    }
    this.pending++;
    this.sampledCount++;
    this.opts.metrics.samples.inc();
    this.schedule(userId, ackedAt, 0, false);
  }

  summary(): ConsistencySummary {
    return {
      sampleRate: this.opts.rate,
      sampled: this.sampledCount,
      pending: this.pending,
      bounds: this.bounds.map((b) => ({ ...b })),
      staleness: {
        within: this.opts.boundsMs.map((leMs, i) => ({
          leMs,
          count: this.firstConsistent[i] ?? 0,
        })),
        unresolved: this.unresolved,
      },
    };
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private schedule(userId: string, ackedAt: number, i: number, resolved: boolean): void {
    const bound = this.opts.boundsMs[i];
    if (bound === undefined || this.closed) {
      this.pending--;
      if (!resolved && !this.closed) {
        this.unresolved++;
        this.opts.metrics.unresolved.inc();
      }
      return;
    }
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        void this.check(userId, i).then((outcome) => {
          if (outcome === "gone") {
            this.pending--;
            return;
          }
          const first = outcome === "consistent" && !resolved;
          if (first) {
            this.firstConsistent[i] = (this.firstConsistent[i] ?? 0) + 1;
            this.opts.metrics.staleness.observe(bound / 1000);
          }
          this.schedule(userId, ackedAt, i + 1, resolved || first);
        });
      },
      Math.max(0, ackedAt + bound - Date.now()),
    );
    (timer as { unref?: () => void }).unref?.();
    this.timers.add(timer);
  }

  private async check(userId: string, i: number): Promise<Outcome> {
    const label = this.boundLabels[i] as string;
    const b = this.bounds[i] as ConsistencyBound;
    let outcome: Outcome;
    try {
      const truth = await this.opts.truth(userId);
      if (truth === null) return "gone";
      const seen = await Promise.all(this.layers.map((l) => l.version(userId)));
      const behind = this.layers.filter((_l, k) => {
        const v = seen[k];
        return v !== null && v !== undefined && v < truth;
      });
      for (const l of behind) this.opts.metrics.staleLayers.inc({ bound: label, layer: l.name });
      outcome = behind.length ? "stale" : "consistent";
      if (behind.length)
        this.opts.logger.warn(
          { userId, afterMs: b.afterMs, mongoVersion: truth, layers: behind.map((l) => l.name) },
          "observatory: a cache layer is behind MongoDB",
        );
    } catch {
      outcome = "error";
    }
    b.checked++;
    if (outcome === "consistent") b.consistent++;
    else if (outcome === "stale") b.stale++;
    else b.errors++;
    const judged = b.consistent + b.stale;
    b.share = judged ? b.consistent / judged : null;
    this.opts.metrics.checks.inc({ bound: label, outcome });
    return outcome;
  }
}
