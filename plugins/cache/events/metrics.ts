import { Counter, type Registry } from "prom-client";
import type { Metrics } from "../../../src/core/metrics";

function defineEventMetrics(registry: Registry) {
  return {
    eventsPublished: new Counter({
      name: "cachesync_events_published_total",
      help: "userDataUpdated events published",
      registers: [registry],
    }),
  };
}

/** Shared with change-streams, which publishes outside writes' events itself. */
export const eventMetrics = (metrics: Metrics) => metrics.group(defineEventMetrics);
