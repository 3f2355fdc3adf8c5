import { createRoute, z } from "@hono/zod-openapi";
import { bearerAuth } from "hono/bearer-auth";
import { anyone, errorResponses } from "../../../src/core/api-route";
import { createRouter } from "../../../src/core/app";
import type { Plugin } from "../../../src/core/plugin";

/** With `METRICS_TOKEN` set the route is documented with its bearer scheme and its 401. */
const metricsRoute = (tokenRequired: boolean) =>
  createRoute({
    ...(tokenRequired ? { security: [{ metricsToken: [] }] } : anyone),
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
      ...(tokenRequired ? errorResponses("UNAUTHORIZED") : {}),
    },
  });

/**
 * `GET /metrics` at the root, where scrapers look. Owners set their own series (the breaker its
 * state, the SSE hub its client gauge); this only serializes the app's registry.
 * `METRICS_ENABLED=false` leaves the route out (404), for instances nothing scrapes.
 * Open by default (as Prometheus expects); with `METRICS_TOKEN` set it needs
 * `Authorization: Bearer <token>` (compared in constant time by Hono's bearerAuth).
 */
export function metricsPlugin(): Plugin {
  return {
    name: "metrics",
    basePath: "/",
    routes(ctx) {
      const { registry } = ctx.metrics;
      if (!ctx.config.METRICS_ENABLED) return createRouter();
      const router = createRouter();
      const token = ctx.config.METRICS_TOKEN;
      if (token) {
        router.openAPIRegistry.registerComponent("securitySchemes", "metricsToken", {
          type: "http",
          scheme: "bearer",
          description: "The METRICS_TOKEN the operator set",
        });
        router.use("/metrics", bearerAuth({ token }));
      }
      return router.openapi(metricsRoute(Boolean(token)), async function serveMetrics(c) {
        return c.text(await registry.metrics(), 200, { "content-type": registry.contentType });
      });
    },
  };
}
