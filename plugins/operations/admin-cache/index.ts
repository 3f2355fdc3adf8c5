import { createRouter } from "../../../src/core/app";
import type { Plugin } from "../../../src/core/plugin";
import { adminCacheHandlers } from "./admin-cache.handlers";
import { adminCacheRoutes } from "./admin-cache.routes";
import { collectionCacheHandlers } from "./collection.handlers";
import { collectionCacheRoutes } from "./collection.routes";

/**
 * SPEC §5 admin cache routes under /api/v1, admin only, and their `/cache/{collection}/…` forms
 * for every declared collection (SPEC §8). The §5 routes are registered first, so their static
 * paths win over the collection forms.
 */
export function adminCachePlugin(): Plugin {
  return {
    name: "admin-cache",
    dependencies: ["auth", "cache-sync"],
    routes(ctx) {
      const routes = adminCacheRoutes(ctx.use("auth").requireAdmin);
      const h = adminCacheHandlers(ctx, ctx.use("cacheSync"));
      const forms = collectionCacheRoutes(ctx.use("auth").requireAdmin);
      const g = collectionCacheHandlers(ctx);
      return createRouter()
        .openapi(routes.stats, h.stats)
        .openapi(routes.validate, h.validate)
        .openapi(routes.sync, h.sync)
        .openapi(routes.invalidate, h.invalidate)
        .openapi(routes.bulkSync, h.bulkSync)
        .openapi(forms.stats, g.stats)
        .openapi(forms.validate, g.validate)
        .openapi(forms.sync, g.sync)
        .openapi(forms.invalidate, g.invalidate)
        .openapi(forms.bulkSync, g.bulkSync);
    },
  };
}
