import { createStores } from "./adapters";
import { createApp, type Stores } from "./core/app";
import { type Config, loadConfig } from "./core/config";
import { createLogger } from "./core/logger";
import type { Plugin } from "./core/plugin";
import type { CacheSyncService } from "./domain/cache-sync";
import { defaultPlugins } from "./plugins";

export interface CacheSyncHandle {
  service: CacheSyncService;
  close(): Promise<void>;
}

/**
 * CacheSyncService without the HTTP server: the same plugins (so the same hooks, versioning,
 * breaker and events) on stores from the config (`MONGO_URL` / `REDIS_URL`) or given ones.
 */
export async function createCacheSync(
  options: { config?: Config; stores?: Stores; plugins?: Plugin[] } = {},
): Promise<CacheSyncHandle> {
  const config = options.config ?? loadConfig();
  const logger = createLogger(config.LOG_LEVEL);
  const stores = options.stores ?? (await createStores(config, logger));
  const instance = await createApp({
    config,
    plugins: options.plugins ?? defaultPlugins(),
    stores,
    logger,
  });
  await instance.ready();
  return { service: instance.ctx.use("cacheSync"), close: instance.close };
}
