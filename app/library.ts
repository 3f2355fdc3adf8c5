import type { OpenAPIHono } from "@hono/zod-openapi";
import type { CacheSyncService } from "../plugins/cache/cache-sync";
import type { CachedCollection } from "../plugins/cache/cache-sync/collection";
import type { Caches } from "../plugins/cache/cache-sync/registry";
import { createStores } from "../src/adapters";
import { createApp, type Stores } from "../src/core/app";
import type { AppEnv } from "../src/core/app-env";
import { type Config, loadConfig } from "../src/core/config";
import { createLogger } from "../src/core/logger";
import type { Plugin } from "../src/core/plugin";
import { defaultPlugins } from "./plugins";

export interface CacheSyncOptions {
  /** Default: the environment (`MONGO_URL`, `REDIS_URL`, … validated by zod). */
  config?: Config;
  /** Default: from the config (embedded in-process stores without URLs). */
  stores?: Stores;
  /** Your cached collections, besides users (declared with `defineCachedCollection`). */
  collections?: readonly CachedCollection[];
  /** Default: the product's plugins (`defaultPlugins({ collections })`). */
  plugins?: Plugin[];
}

export interface CacheSyncHandle {
  /** Every declared collection by name: `cache.users.get(id)`, `cache.listings.getMany(ids)`. */
  cache: Caches;
  /** SPEC §2's CacheSyncService (users). */
  service: CacheSyncService;
  /** The Hono app with every plugin's routes: mount it (`app.route("/", handle.app)`) or not. */
  app: OpenAPIHono<AppEnv>;
  close(): Promise<void>;
}

/**
 * The sync engine as a library: the same plugins as the server (so the same versions, leases,
 * breaker, repair log and events) on stores from the config or given ones, with your cached
 * collections declared beside users.
 *
 * @example
 * ```ts
 * import { createCacheSync, defineCachedCollection } from "cachesync";
 *
 * const listings = defineCachedCollection({ name: "listings", entity: "listing" });
 * const { cache, app, close } = await createCacheSync({ collections: [listings] });
 * const listing = await cache.listings.get(id);                 // Redis first
 * await cache.listings.update(id, { $set: { title: "New" } });  // versioned write-through + event
 * Bun.serve({ fetch: app.fetch });                              // the HTTP API too, if you want it
 * await close();
 * ```
 */
export async function createCacheSync(options: CacheSyncOptions = {}): Promise<CacheSyncHandle> {
  const config = options.config ?? loadConfig();
  const logger = createLogger(config.LOG_LEVEL);
  const stores = options.stores ?? (await createStores(config, logger));
  const instance = await createApp({
    config,
    plugins: options.plugins ?? defaultPlugins({ collections: options.collections }),
    stores,
    logger,
  });
  await instance.ready();
  return {
    cache: instance.ctx.use("cache"),
    service: instance.ctx.use("cacheSync"),
    app: instance.app,
    close: instance.close,
  };
}
