import { createRouter } from "../../src/core/app";
import type { Plugin } from "../../src/core/plugin";
import { adminCacheHandlers } from "./admin-cache.handlers";
import { adminCacheRoutes } from "./admin-cache.routes";

/** SPEC §5 admin cache routes under /api/v1, admin only. */
export function adminCachePlugin(): Plugin {
  return {
    name: "admin-cache",
    dependencies: ["auth", "cache-sync"],
    routes(ctx) {
      const routes = adminCacheRoutes(ctx.use("auth").requireAdmin);
      const h = adminCacheHandlers(ctx, ctx.use("cacheSync"));
      return createRouter()
        .openapi(routes.stats, h.stats)
        .openapi(routes.validate, h.validate)
        .openapi(routes.sync, h.sync)
        .openapi(routes.invalidate, h.invalidate)
        .openapi(routes.bulkSync, h.bulkSync);
    },
  };
}
