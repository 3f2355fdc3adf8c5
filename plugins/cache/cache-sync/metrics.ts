import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { LATENCY_BUCKETS, type Metrics } from "../../../src/core/metrics";

/** A count the read path bumps as a plain number; its counter takes it when it is read. */
export class Tally {
  n = 0;
  inc(): void {
    this.n++;
  }
}

/**
 * Per-collection tallies added to `counter` whenever it is read (a scrape, `counter.get()`):
 * prom-client's `inc` (a label hash and a map update) was ~4 % of the hit path's CPU.
 */
function tallied(tallies: Map<string, Tally>) {
  return function collect(this: Counter<"collection">): void {
    for (const [collection, t] of tallies) {
      if (t.n === 0) continue;
      this.inc({ collection }, t.n);
      t.n = 0;
    }
  };
}

const tallyOf = (tallies: Map<string, Tally>) => (collection: string) => {
  let t = tallies.get(collection);
  if (!t) {
    t = new Tally();
    tallies.set(collection, t);
  }
  return t;
};

function defineCacheMetrics(registry: Registry) {
  const registers = [registry];
  const hits = new Map<string, Tally>();
  const misses = new Map<string, Tally>();
  return {
    cacheHits: new Counter({
      name: "cachesync_cache_hits_total",
      help: "Reads served from Redis, by cached collection",
      labelNames: ["collection"] as const,
      registers,
      collect: tallied(hits),
    }),
    cacheMisses: new Counter({
      name: "cachesync_cache_misses_total",
      help: "Reads that went to MongoDB, by cached collection",
      labelNames: ["collection"] as const,
      registers,
      collect: tallied(misses),
    }),
    /** The read path's hit count of a collection (cacheHits once read). */
    hitTally: tallyOf(hits),
    /** The read path's miss count of a collection (cacheMisses once read). */
    missTally: tallyOf(misses),
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
