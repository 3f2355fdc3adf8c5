import { Counter, Gauge, type Registry } from "prom-client";
import type { Metrics } from "../../../src/core/metrics";

function defineSseMetrics(registry: Registry) {
  return {
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
  };
}

export const sseMetrics = (metrics: Metrics) => metrics.group(defineSseMetrics);
export type SseMetrics = ReturnType<typeof sseMetrics>;
