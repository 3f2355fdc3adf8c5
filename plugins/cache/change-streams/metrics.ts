import { Counter, Gauge, Histogram } from "prom-client";
import type { Metrics } from "../../../src/core/metrics";
import type { StreamState } from "./consumer";

const STATES: readonly StreamState[] = [
  "starting",
  "standby",
  "streaming",
  "reconciling",
  "retrying",
  "stopped",
];

/** The plugin's own metrics, registered on the app's registry (the core knows none of them). */
export function streamMetrics(metrics: Metrics) {
  const registers = [metrics.registry];
  const state = new Gauge({
    name: "cachesync_change_stream_state",
    help: "1 for the change stream consumer's current state on this instance",
    labelNames: ["state"] as const,
    registers,
  });
  return {
    lag: new Histogram({
      name: "cachesync_change_stream_lag_seconds",
      help: "Time from a MongoDB commit to its change applied to the cache (apply time - commit time)",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    events: new Counter({
      name: "cachesync_change_stream_events_total",
      help: "Change events applied, by operation and action (bumped, refreshed, tombstoned, unchanged, skipped; changed: another collection's entry or an owner list emptied)",
      labelNames: ["op", "action"] as const,
      registers,
    }),
    reconciles: new Counter({
      name: "cachesync_change_stream_reconciles_total",
      help: "Full reconciles of the cache with MongoDB after a lost (or never stored) stream position, by reason",
      labelNames: ["reason"] as const,
      registers,
    }),
    reconciled: new Counter({
      name: "cachesync_change_stream_reconciled_entries_total",
      help: "Cached entries compared with MongoDB by full reconciles (checked), and those repaired, by collection",
      labelNames: ["collection", "outcome"] as const,
      registers,
    }),
    failures: new Counter({
      name: "cachesync_change_stream_failures_total",
      help: "Stream failures that restarted it from the stored position",
      registers,
    }),
    leader: new Gauge({
      name: "cachesync_change_stream_leader",
      help: "1 when this instance holds the consumer lease",
      registers,
    }),
    setState(current: StreamState) {
      for (const s of STATES) state.set({ state: s }, s === current ? 1 : 0);
    },
  };
}

export type StreamMetrics = ReturnType<typeof streamMetrics>;
