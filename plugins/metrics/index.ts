import { createRoute, z } from "@hono/zod-openapi";
import { anyone } from "../../src/core/api-route";
import { createRouter } from "../../src/core/app";
import type { Plugin } from "../../src/core/plugin";

const metricsRoute = createRoute({
  ...anyone,
  method: "get",
  path: "/metrics",
  tags: ["Operations"],
  operationId: "getMetrics",
  summary: "Prometheus metrics of this instance",
  description:
    "Cache hits, misses, latency histograms, fills, repairs and SSE clients in the Prometheus text format, for scrapers.",
  responses: {
    200: {
      description: "Prometheus text exposition format",
      content: { "text/plain": { schema: z.string() } },
    },
  },
});

/**
 * `GET /metrics` at the root, where scrapers look. Owners set their own series (the breaker its
 * state, the SSE hub its client gauge); this only serializes the app's registry.
 * `METRICS_ENABLED=false` leaves the route out (404), for instances nothing scrapes.
 */
export function metricsPlugin(): Plugin {
  return {
    name: "metrics",
    basePath: "/",
    routes(ctx) {
      const { registry } = ctx.metrics;
      if (!ctx.config.METRICS_ENABLED) return createRouter();
      return createRouter().openapi(metricsRoute, async function serveMetrics(c) {
        return c.text(await registry.metrics(), 200, { "content-type": registry.contentType });
      });
    },
  };
}
