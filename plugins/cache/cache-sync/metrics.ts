import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { LATENCY_BUCKETS, type Metrics } from "../../../src/core/metrics";

function defineCacheMetrics(registry: Registry) {
  const registers = [registry];
  return {
    cacheHits: new Counter({
      name: "cachesync_cache_hits_total",
      help: "Reads served from Redis, by cached collection",
      labelNames: ["collection"] as const,
      registers,
    }),
    cacheMisses: new Counter({
      name: "cachesync_cache_misses_total",
      help: "Reads that went to MongoDB, by cached collection",
      labelNames: ["collection"] as const,
      registers,
    }),
    cacheFills: new Counter({
      name: "cachesync_cache_fills_total",
      help: "Cache-aside fills, by collection and outcome",
      labelNames: ["collection", "outcome"] as const,
      registers,
    }),
    fillSeconds: new Histogram({
      name: "cachesync_fill_seconds",
      help: "MongoDB read + Redis fill on a miss",
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    writeThroughSeconds: new Histogram({
      name: "cachesync_write_through_seconds",
      help: "Redis write after a MongoDB write",
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    writeThroughs: new Counter({
      name: "cachesync_write_throughs_total",
      help: "Write-through cache writes, by collection and outcome",
      labelNames: ["collection", "outcome"] as const,
      registers,
    }),
    invalidations: new Counter({
      name: "cachesync_invalidations_total",
      help: "Cache invalidations, by collection",
      labelNames: ["collection"] as const,
      registers,
    }),
    repairs: new Counter({
      name: "cachesync_repairs_total",
      help: "Cache entries repaired, by source",
      labelNames: ["source"] as const,
      registers,
    }),
    breakerState: new Gauge({
      name: "cachesync_redis_breaker_state",
      help: "Redis circuit breaker: 0 closed, 1 half-open, 2 open",
      registers,
    }),
    redisErrors: new Counter({
      name: "cachesync_redis_errors_total",
      help: "Redis calls that failed or timed out",
      registers,
    }),
  };
}

/** The cache layers' metrics (the engine, cache-aside, admin stats share one set per app). */
export const cacheMetrics = (metrics: Metrics) => metrics.group(defineCacheMetrics);
export type CacheMetrics = ReturnType<typeof cacheMetrics>;
