import { createRouter } from "../../src/core/app";
import type { Plugin, PluginContext } from "../../src/core/plugin";
import type { Unsubscribe } from "../../src/core/ports/event-bus";
import { SseHub } from "./hub";
import { eventsHandler } from "./sse.handlers";
import { eventsRoute } from "./sse.routes";
import { eventsTopic } from "./sse-event";

export { SSE_TOKEN_COOKIE } from "./sse-auth";

/**
 * `GET /api/v1/events`. One bus subscription per instance (not per client): the bus carries
 * every instance's events, the hub fans them out to this instance's streams.
 */
export function ssePlugin(): Plugin {
  let hub: SseHub | undefined;
  let unsubscribe: Unsubscribe | undefined;
  const hubFor = (ctx: PluginContext) =>
    (hub ??= new SseHub({ maxPerUser: ctx.config.SSE_MAX_PER_USER, metrics: ctx.metrics, logger: ctx.logger }));

  return {
    name: "sse",
    dependencies: ["auth"],
    routes(ctx) {
      return createRouter().openapi(eventsRoute, eventsHandler(ctx, hubFor(ctx), ctx.use("auth")));
    },
    async onReady(ctx) {
      const h = hubFor(ctx);
      unsubscribe = await ctx.bus.subscribe(eventsTopic(ctx.config.CACHE_PREFIX), (msg) => h.dispatch(msg));
    },
    async onClose() {
      await unsubscribe?.();
      unsubscribe = undefined;
      hub?.closeAll();
    },
  };
}
