import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/**
 * One registry per app instance (tests run several in one process), so every plugin records
 * into `ctx.metrics` and `/metrics` serves `ctx.metrics.registry`.
 */
export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  const latency = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
  ];
  return {
    registry,
    cacheHits: new Counter({
      name: "cachesync_cache_hits_total",
      help: "User reads served from Redis",
      registers: [registry],
    }),
    cacheMisses: new Counter({
      name: "cachesync_cache_misses_total",
      help: "User reads that went to MongoDB",
      registers: [registry],
    }),
    listCacheHits: new Counter({
      name: "cachesync_list_cache_hits_total",
      help: "Owner-scoped list reads served from Redis (list-cache), by collection",
      labelNames: ["collection"] as const,
      registers: [registry],
    }),
    listCacheMisses: new Counter({
      name: "cachesync_list_cache_misses_total",
      help: "Owner-scoped list reads that went to MongoDB (list-cache), by collection",
      labelNames: ["collection"] as const,
      registers: [registry],
    }),
    cacheFills: new Counter({
      name: "cachesync_cache_fills_total",
      help: "Cache-aside fills, by outcome",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
    fillSeconds: new Histogram({
      name: "cachesync_fill_seconds",
      help: "MongoDB read + Redis fill on a miss",
      buckets: latency,
      registers: [registry],
    }),
    writeThroughSeconds: new Histogram({
      name: "cachesync_write_through_seconds",
      help: "Redis write after a MongoDB write",
      buckets: latency,
      registers: [registry],
    }),
    writeThroughs: new Counter({
      name: "cachesync_write_throughs_total",
      help: "Write-through cache writes, by outcome",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
    invalidations: new Counter({
      name: "cachesync_invalidations_total",
      help: "User cache invalidations",
      registers: [registry],
    }),
    repairs: new Counter({
      name: "cachesync_repairs_total",
      help: "Cache entries repaired, by source",
      labelNames: ["source"] as const,
      registers: [registry],
    }),
    breakerState: new Gauge({
      name: "cachesync_redis_breaker_state",
      help: "Redis circuit breaker: 0 closed, 1 half-open, 2 open",
      registers: [registry],
    }),
    redisErrors: new Counter({
      name: "cachesync_redis_errors_total",
      help: "Redis calls that failed or timed out",
      registers: [registry],
    }),
    sseClients: new Gauge({
      name: "cachesync_sse_clients",
      help: "Connected SSE clients on this instance",
      registers: [registry],
    }),
    eventsDelivered: new Counter({
      name: "cachesync_events_delivered_total",
      help: "SSE events written to clients",
      registers: [registry],
    }),
    eventsPublished: new Counter({
      name: "cachesync_events_published_total",
      help: "userDataUpdated events published",
      registers: [registry],
    }),
    consistencyChecks: new Counter({
      name: "cachesync_consistency_checked_total",
      help: "Entries checked by the periodic check, by result",
      labelNames: ["result"] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
