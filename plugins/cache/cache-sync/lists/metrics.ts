import { Counter, type Registry } from "prom-client";
import type { Metrics } from "../../../../src/core/metrics";

/**
 * The published series of the owner lists (the names and labels dashboards know from the list
 * cache before them), labelled by the list's member collection.
 */
function defineListMetrics(registry: Registry) {
  return {
    hits: new Counter({
      name: "cachesync_list_cache_hits_total",
      help: "Owner list reads served from Redis, by member collection",
      labelNames: ["collection"] as const,
      registers: [registry],
    }),
    misses: new Counter({
      name: "cachesync_list_cache_misses_total",
      help: "Owner list reads that went to MongoDB, by member collection",
      labelNames: ["collection"] as const,
      registers: [registry],
    }),
  };
}

export type ListMetrics = ReturnType<typeof defineListMetrics>;
export const listMetrics = (metrics: Metrics) => metrics.group(defineListMetrics);
