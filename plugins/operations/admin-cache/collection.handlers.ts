import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../../src/core/app-env";
import { appError, ok } from "../../../src/core/errors";
import type { PluginContext } from "../../../src/core/plugin";
import type { CollectionCacheRoutes } from "./collection.routes";

type H<K extends keyof CollectionCacheRoutes> = RouteHandler<CollectionCacheRoutes[K], AppEnv>;

/** Thin handlers over `cache.<collection>`: the engine decides what consistent and synced mean. */
export function collectionCacheHandlers(ctx: PluginContext) {
  const caches = ctx.use("cache");
  const cacheOf = (name: string) => {
    const c = caches.collection(name);
    if (!c) throw appError("COLLECTION_NOT_FOUND", `No cached collection "${name}"`);
    return c;
  };

  const stats: H<"stats"> = async function collectionStats(c) {
    return c.json(ok(await cacheOf(c.req.valid("param").collection).stats()), 200);
  };

  const validate: H<"validate"> = async function validateEntry(c) {
    const { collection, id } = c.req.valid("param");
    const v = await cacheOf(collection).validate(id);
    return c.json(
      ok(
        v.consistent
          ? { consistent: true as const }
          : { consistent: false as const, action: "fixed" as const },
      ),
      200,
    );
  };

  const sync: H<"sync"> = async function syncEntry(c) {
    const { collection, id } = c.req.valid("param");
    const doc = await cacheOf(collection).sync(id);
    if (!doc) throw appError("NOT_FOUND");
    return c.json(ok(doc, "Cache entry synced successfully"), 200);
  };

  const invalidate: H<"invalidate"> = async function invalidateEntry(c) {
    const { collection, id } = c.req.valid("param");
    await cacheOf(collection).invalidate(id);
    return c.json(ok({ invalidated: true as const }, "Cache invalidated successfully"), 200);
  };

  const bulkSync: H<"bulkSync"> = async function bulkSyncEntries(c) {
    const { collection } = c.req.valid("param");
    const cache = cacheOf(collection);
    const { ids } = c.req.valid("json");
    return c.json(ok(await cache.bulkSync(ids), "Bulk sync completed"), 200);
  };

  return { stats, validate, sync, invalidate, bulkSync };
}
