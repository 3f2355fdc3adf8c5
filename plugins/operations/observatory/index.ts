import type { Plugin } from "../../../src/core/plugin";
import { eventsTopic, type UserDataUpdated } from "../../cache/events";
import { subscribeWithRetry } from "./feed";
import { mongoVersion, redisLayer } from "./layers";
import { observatoryMetrics } from "./metrics";
import { Observatory } from "./observatory";

export type { CacheLayer, Observatory } from "./observatory";
export { type ConsistencySummary, ConsistencySummarySchema } from "./summary";

declare module "../../../src/core/plugin" {
  interface Services {
    observatory: Observatory;
  }
}

/**
 * The consistency observatory (docs/OBSERVATORY.md): samples acknowledged user writes from the
 * change feed every instance already receives (`userDataUpdated` on the bus) and re-checks this
 * instance's cache layers against MongoDB at each bound. Nothing on the read path: a hit costs
 * what it cost without it.
 */
export function observatoryPlugin(): Plugin {
  let observatory: Observatory | undefined;
  let unsubscribe: (() => Promise<void>) | undefined;
  return {
    name: "observatory",
    register(ctx) {
      const { config } = ctx;
      observatory = new Observatory({
        rate: config.OBSERVATORY_SAMPLE_RATE,
        boundsMs: config.OBSERVATORY_BOUNDS_MS,
        maxPending: config.OBSERVATORY_MAX_PENDING,
        truth: mongoVersion(ctx),
        metrics: observatoryMetrics(ctx.metrics, config.OBSERVATORY_BOUNDS_MS),
        logger: ctx.logger,
      });
      observatory.addLayer(redisLayer(ctx));
      ctx.provide("observatory", observatory);
    },
    onReady(ctx) {
      const obs = observatory;
      if (!obs || ctx.config.OBSERVATORY_SAMPLE_RATE === 0) return;
      const topic = eventsTopic(ctx.config.CACHE_PREFIX);
      unsubscribe = subscribeWithRetry(
        ctx,
        topic,
        (msg) => {
          let event: UserDataUpdated;
          try {
            event = JSON.parse(msg.payload) as UserDataUpdated;
          } catch {
            return;
          }
          if (event.type !== "userDataUpdated" || typeof event.version !== "number") return;
          const at = Date.parse(event.at);
          obs.observe(event.userId, event.version, Number.isNaN(at) ? Date.now() : at);
        },
        "observatory",
      );
    },
    async onClose() {
      observatory?.close();
      await unsubscribe?.();
    },
  };
}
