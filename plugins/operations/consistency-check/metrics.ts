import { Counter, type Registry } from "prom-client";
import type { Metrics } from "../../../src/core/metrics";

function defineConsistencyMetrics(registry: Registry) {
  return {
    consistencyChecks: new Counter({
      name: "cachesync_consistency_checked_total",
      help: "Entries checked by the periodic check, by collection and result",
      labelNames: ["collection", "result"] as const,
      registers: [registry],
    }),
  };
}

export const consistencyMetrics = (metrics: Metrics) => metrics.group(defineConsistencyMetrics);
