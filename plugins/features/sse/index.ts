import { createRouter } from "../../../src/core/app";
import type { Plugin, PluginContext } from "../../../src/core/plugin";
import type { Unsubscribe } from "../../../src/core/ports/event-bus";
import { eventsTopic } from "../../cache/events";
import { AddressSlots } from "./address-slots";
import { SseHub } from "./hub";
import { sseMetrics } from "./metrics";
import { eventsHandler } from "./sse.handlers";
import { eventsRoute, SSE_SECURITY_SCHEMES, UserDataUpdatedSchema } from "./sse.routes";

export { sseMetrics } from "./metrics";
export { SSE_TOKEN_COOKIE } from "./sse-auth";

/**
 * `GET /api/v1/events`. One bus subscription per instance (not per client): the bus carries
 * every instance's events, the hub fans them out to this instance's streams.
 */
export function ssePlugin(): Plugin {
  let hub: SseHub | undefined;
  let unsubscribe: Unsubscribe | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const hubFor = (ctx: PluginContext) =>
    (hub ??= new SseHub({
      maxPerUser: ctx.config.SSE_MAX_PER_USER,
      heartbeatMs: ctx.config.SSE_HEARTBEAT_MS,
      metrics: sseMetrics(ctx.metrics),
      logger: ctx.logger,
    }));

  return {
    name: "sse",
    dependencies: ["auth"],
    register(ctx) {
      sseMetrics(ctx.metrics);
    },
    routes(ctx) {
      const router = createRouter();
      for (const [name, scheme] of Object.entries(SSE_SECURITY_SCHEMES))
        router.openAPIRegistry.registerComponent("securitySchemes", name, scheme);
      router.openAPIRegistry.register("UserDataUpdated", UserDataUpdatedSchema);
      const slots = new AddressSlots(ctx.config.SSE_MAX_PER_IP);
      return router.openapi(eventsRoute, eventsHandler(ctx, hubFor(ctx), ctx.use("auth"), slots));
    },
    async onReady(ctx) {
      const h = hubFor(ctx);
      const topic = eventsTopic(ctx.config.CACHE_PREFIX);
      // Redis down at start-up must not stop the API (SPEC §2: it keeps working on MongoDB):
      // the subscription is retried in the background until Redis answers.
      let delay = 250;
      const attempt = async (): Promise<void> => {
        if (closed) return;
        try {
          unsubscribe = await ctx.bus.subscribe(topic, (msg) => h.dispatch(msg));
          if (closed) await unsubscribe();
          else if (delay > 250) ctx.logger.info("event bus subscription established");
        } catch (err) {
          ctx.logger.warn(
            { err, retryInMs: delay },
            "event bus subscription failed; SSE clients get no live events until it succeeds",
          );
          retry = setTimeout(() => void attempt(), delay);
          retry.unref?.();
          delay = Math.min(delay * 2, 5000);
        }
      };
      await attempt();
    },
    async onClose() {
      closed = true;
      if (retry) clearTimeout(retry);
      await unsubscribe?.();
      unsubscribe = undefined;
      hub?.closeAll();
    },
  };
}
