import { Counter, type Registry } from "prom-client";
import type { Metrics } from "../../src/core/metrics";

function defineListCacheMetrics(registry: Registry) {
  return {
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
  };
}

export const listCacheMetrics = (metrics: Metrics) => metrics.group(defineListCacheMetrics);
