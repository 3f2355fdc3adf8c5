import { Counter, Gauge, Histogram } from "prom-client";
import type { Metrics } from "../../../src/core/metrics";

/**
 * The observatory's own metrics on the app's registry. `share` is computed at scrape time from
 * the check counters, so a dashboard needs no PromQL to read "consistent within 100 ms".
 */
export function observatoryMetrics(metrics: Metrics, boundsMs: readonly number[]) {
  const registers = [metrics.registry];
  const checks = new Counter({
    name: "cachesync_observatory_checks_total",
    help: "Re-checks of sampled acknowledged writes, by bound (seconds after the acknowledgement) and outcome (consistent, stale, error)",
    labelNames: ["bound", "outcome"] as const,
    registers,
  });
  const bounds = boundsMs.map((ms) => String(ms / 1000));
  return {
    samples: new Counter({
      name: "cachesync_observatory_samples_total",
      help: "Acknowledged user writes sampled for re-checking (OBSERVATORY_SAMPLE_RATE)",
      registers,
    }),
    dropped: new Counter({
      name: "cachesync_observatory_dropped_total",
      help: "Sampled writes not re-checked because OBSERVATORY_MAX_PENDING were in progress",
      registers,
    }),
    checks,
    staleLayers: new Counter({
      name: "cachesync_observatory_stale_total",
      help: "Stale answers found by a re-check, by bound and by cache layer (redis, near)",
      labelNames: ["bound", "layer"] as const,
      registers,
    }),
    staleness: new Histogram({
      name: "cachesync_observatory_staleness_seconds",
      help: "Per sampled write: the first bound at which every cache layer agreed with MongoDB (not observed when none did: see cachesync_observatory_unresolved_total)",
      buckets: boundsMs.map((ms) => ms / 1000),
      registers,
    }),
    unresolved: new Counter({
      name: "cachesync_observatory_unresolved_total",
      help: "Sampled writes still stale (or unchecked for errors) at the last bound",
      registers,
    }),
    share: new Gauge({
      name: "cachesync_observatory_consistent_share",
      help: "Share of re-checks at each bound that found every cache layer consistent with MongoDB",
      labelNames: ["bound"] as const,
      registers,
      async collect() {
        const values = (await checks.get()).values;
        for (const bound of bounds) {
          const n = (outcome: string) =>
            values.find((v) => v.labels.bound === bound && v.labels.outcome === outcome)?.value ??
            0;
          const judged = n("consistent") + n("stale");
          if (judged > 0) this.set({ bound }, n("consistent") / judged);
        }
      },
    }),
  };
}

export type ObservatoryMetrics = ReturnType<typeof observatoryMetrics>;
