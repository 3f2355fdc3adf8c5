import { StoreUnavailableError } from "../../src/core/errors";
import type { Plugin } from "../../src/core/plugin";
import type { CacheSyncService } from "../../src/domain/cache-sync";
import { CacheEngine } from "./engine";
import { startMongoHeartbeat } from "./mongo-heartbeat";
import { CacheSyncServiceImpl } from "./service";
import { staleHeaderMiddleware } from "./stale-scope";

export { CacheEngine } from "./engine";
export { emailKey, userKey } from "./keys";
export { type CacheMetrics, cacheMetrics } from "./metrics";
export { STALE_HEADER } from "./stale-scope";

declare module "../../src/core/plugin" {
  interface Services {
    cacheEngine: CacheEngine;
    cacheSync: CacheSyncService;
  }
}

/**
 * Provides the cache engine (shared by cache-aside and write-through) and the
 * CacheSyncService facade. It declares no hooks itself.
 */
export function cacheSyncPlugin(): Plugin {
  let engine: CacheEngine | undefined;
  let stopHeartbeat: (() => void) | undefined;
  return {
    name: "cache-sync",
    dependencies: ["sanitize"],
    register(ctx) {
      engine = new CacheEngine(ctx, ctx.use("sanitizeUser"));
      const e = engine;
      // After a Redis failover, debts (writes the old master may have lost) are settled first.
      ctx.cache.onFailover(async () => {
        await e.repairPending();
      });
      ctx.provide("cacheEngine", engine);
      ctx.provide("cacheSync", new CacheSyncServiceImpl(ctx, engine));
    },
    middleware: () => [staleHeaderMiddleware()],
    async onReady(ctx) {
      if (engine) stopHeartbeat = startMongoHeartbeat(engine, ctx.db);
      // Debts left by a previous process are settled before this one trusts Redis.
      try {
        const n = await engine?.repairPending();
        if (n) ctx.logger.info({ repaired: n }, "settled cache repairs from an earlier run");
      } catch (err) {
        // The repair log lives in MongoDB: name the store that failed, not always Redis.
        const store = err instanceof StoreUnavailableError ? err.store : undefined;
        const who = store === "mongo" ? "MongoDB" : store === "redis" ? "Redis" : "a store";
        const cause = `${who} unavailable at start-up, earlier cache repairs not settled`;
        ctx.logger.warn({ err }, `${cause}; reads bypass Redis until they are`);
        engine?.breaker.trip(cause);
      }
    },
    async onClose() {
      stopHeartbeat?.();
      engine?.breaker.stop();
      await engine?.breaker.settle();
      engine?.close();
    },
  };
}
