import { createRoute, z } from "@hono/zod-openapi";
import { anyone, errorResponses, jsonResponse } from "../../../src/core/api-route";
import { createRouter } from "../../../src/core/app";
import { errorEnvelope, ok } from "../../../src/core/errors";
import type { Plugin } from "../../../src/core/plugin";
import { envelope } from "../../../src/domain/schemas";
import { checkReadiness } from "./readiness";

const StoreStatus = z.enum(["up", "down"]);

/** The change-stream consumer (plugins/cache/change-streams), when loaded: reported, never a reason for 503. */
const ChangeStreamStatus = z.object({
  mode: z.enum(["off", "unsupported", "on"]),
  state: z.string().optional(),
  leader: z.boolean().optional(),
  lastEventAt: z.string().nullable().optional(),
  lastError: z.string().nullable().optional(),
});

/** The write-behind queue (plugins/cache/write-behind), when loaded: `degraded` beyond the lag bound, never a 503. */
const WriteBehindStatus = z.object({
  status: z.enum(["ok", "degraded"]),
  depth: z.number(),
  lagSeconds: z.number(),
});

const readyRoute = createRoute({
  ...anyone,
  method: "get",
  path: "/ready",
  tags: ["Operations"],
  operationId: "getReadiness",
  summary: "Readiness: MongoDB and Redis reachable",
  description:
    "200 when both stores answer, 503 `NOT_READY` naming the store(s) down (for load balancers and orchestrators). No input, so no 4xx.",
  responses: {
    200: jsonResponse(
      envelope(
        z.object({
          mongo: StoreStatus,
          redis: StoreStatus,
          changeStream: ChangeStreamStatus.optional(),
          writeBehind: WriteBehindStatus.optional(),
        }),
      ),
      "Both stores answer",
    ),
    ...errorResponses("NOT_READY"),
  },
});

/** Lets the server take this instance out of rotation before it stops (graceful shutdown). */
export interface ReadinessService {
  /** From now on `/ready` answers 503 whatever the stores say; every other route still serves. */
  drain(): void;
  readonly draining: boolean;
}

declare module "../../../src/core/plugin" {
  interface Services {
    readiness: ReadinessService;
  }
}

/** `GET /ready` at the root; `/health` (process up) is the core's. */
export function opsPlugin(): Plugin {
  let draining = false;
  return {
    name: "ops",
    basePath: "/",
    register(ctx) {
      ctx.provide("readiness", {
        drain: () => {
          draining = true;
        },
        get draining() {
          return draining;
        },
      });
    },
    routes(ctx) {
      return createRouter().openapi(readyRoute, async function ready(c) {
        if (draining)
          return c.json(errorEnvelope("NOT_READY", "Shutting down", { draining: true }), 503);
        const stores = await checkReadiness(ctx);
        const withStream = ctx.has("changeStreams")
          ? { ...stores, changeStream: ctx.use("changeStreams").report() }
          : stores;
        const status =
          ctx.has("writeBehind") && stores.redis === "up"
            ? { ...withStream, writeBehind: await ctx.use("writeBehind").report() }
            : withStream;
        if (status.mongo === "up" && status.redis === "up") return c.json(ok(status), 200);
        const down = (["mongo", "redis"] as const).filter((s) => status[s] === "down");
        return c.json(errorEnvelope("NOT_READY", `Unavailable: ${down.join(", ")}`, status), 503);
      });
    },
  };
}
