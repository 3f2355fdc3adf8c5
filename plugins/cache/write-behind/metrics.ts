import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** The plugin's own metrics (`ctx.metrics.group(writeBehindMetrics)`; the core knows none). */
export function writeBehindMetrics(registry: Registry) {
  const registers = [registry];
  return {
    changes: new Counter({
      name: "cachesync_write_behind_changes_total",
      help: "Write-behind changes by path: queued, direct (Redis down or queue full: written to MongoDB at once), dropped (policy drop), unacknowledged (Redis failed mid-call: the client got 503)",
      labelNames: ["collection", "path"] as const,
      registers,
    }),
    depth: new Gauge({
      name: "cachesync_write_behind_queue_depth",
      help: "Entries in the write-behind queue not yet flushed to MongoDB",
      registers,
    }),
    lag: new Gauge({
      name: "cachesync_write_behind_lag_seconds",
      help: "Age of the oldest change not yet flushed to MongoDB (0 when the queue is empty)",
      registers,
    }),
    flushSeconds: new Histogram({
      name: "cachesync_write_behind_flush_seconds",
      help: "One batch: read from the queue, bulkWrite to MongoDB, cache refreshed, acknowledged",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    batchEntries: new Histogram({
      name: "cachesync_write_behind_batch_entries",
      help: "Queue entries per flushed batch",
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000],
      registers,
    }),
    batchDocuments: new Histogram({
      name: "cachesync_write_behind_batch_documents",
      help: "Documents written per flushed batch (after coalescing)",
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000],
      registers,
    }),
    mongoWrites: new Counter({
      name: "cachesync_write_behind_mongo_writes_total",
      help: "MongoDB write commands issued by write-behind: bulk (one per collection per batch) or direct",
      labelNames: ["kind"] as const,
      registers,
    }),
    flushFailures: new Counter({
      name: "cachesync_write_behind_flush_failures_total",
      help: "Batches that could not be flushed (kept and retried)",
      registers,
    }),
  };
}

export type WriteBehindMetrics = ReturnType<typeof writeBehindMetrics>;
