import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../../src/core/app-env";
import { appError, ok } from "../../../src/core/errors";
import type { PluginContext } from "../../../src/core/plugin";
import type { CacheSyncService } from "../../cache/cache-sync";
import type { AdminCacheRoutes } from "./admin-cache.routes";
import { readCacheStats } from "./cache-stats";

type H<K extends keyof AdminCacheRoutes> = RouteHandler<AdminCacheRoutes[K], AppEnv>;

/**
 * Thin handlers: every cache decision lives in the CacheSyncService, so these routes and the
 * periodic check can never disagree about what "consistent" or "synced" means.
 */
export function adminCacheHandlers(ctx: PluginContext, cacheSync: CacheSyncService) {
  const stats: H<"stats"> = async function cacheStats(c) {
    return c.json(ok(await readCacheStats(ctx)), 200);
  };

  const validate: H<"validate"> = async function validateUserCache(c) {
    const { userId } = c.req.valid("param");
    return c.json(ok(await cacheSync.validateCacheConsistency(userId)), 200);
  };

  const sync: H<"sync"> = async function syncUserCache(c) {
    const { userId } = c.req.valid("param");
    const user = await cacheSync.syncUser(userId);
    if (!user) throw appError("USER_NOT_FOUND");
    return c.json(ok(user, "User cache synced successfully"), 200);
  };

  const invalidate: H<"invalidate"> = async function invalidateUserCache(c) {
    const { userId } = c.req.valid("param");
    await cacheSync.invalidateUserCache(userId);
    return c.json(ok({ invalidated: true as const }, "Cache invalidated successfully"), 200);
  };

  const bulkSync: H<"bulkSync"> = async function bulkSyncUsers(c) {
    const { userIds } = c.req.valid("json");
    return c.json(ok(await cacheSync.bulkSync(userIds), "Bulk sync completed"), 200);
  };

  return { stats, validate, sync, invalidate, bulkSync };
}
