import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../../src/core/app";
import { errorEnvelope, ok } from "../../src/core/errors";
import type { Plugin } from "../../src/core/plugin";
import { envelope, errorResponses } from "../../src/domain/schemas";
import { checkReadiness } from "./readiness";

const StoreStatus = z.enum(["up", "down"]);

const readyRoute = createRoute({
  method: "get",
  path: "/ready",
  tags: ["Operations"],
  summary: "MongoDB and Redis reachability (for load balancers)",
  responses: {
    200: {
      description: "Both stores answer",
      content: {
        "application/json": {
          schema: envelope(z.object({ mongo: StoreStatus, redis: StoreStatus })),
        },
      },
    },
    ...errorResponses(503),
  },
});

/** `GET /ready` at the root; `/health` (process up) is the core's. */
export function opsPlugin(): Plugin {
  return {
    name: "ops",
    basePath: "/",
    routes(ctx) {
      return createRouter().openapi(readyRoute, async function ready(c) {
        const status = await checkReadiness(ctx);
        if (status.mongo === "up" && status.redis === "up") return c.json(ok(status), 200);
        const down = (["mongo", "redis"] as const).filter((s) => status[s] === "down");
        return c.json(errorEnvelope("NOT_READY", `Unavailable: ${down.join(", ")}`, status), 503);
      });
    },
  };
}
