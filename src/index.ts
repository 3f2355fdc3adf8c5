/**
 * cachesync as a library: build the app (or only the service) from a config, plugins and stores.
 */

export type { BalanceService, CacheSyncService, ConsistencyReport } from "../plugins/cache-sync";
export {
  type CachedCollection,
  type CachedCollectionOptions,
  type CachedCollections,
  type CachedDoc,
  type Caches,
  CollectionCache,
  defineCachedCollection,
} from "../plugins/cache-sync";
export { type Listing, listingsCollection } from "../plugins/listings";
export type { PublicUser, SanitizedUser, UserDoc } from "../plugins/users";
export { usersCollection } from "../plugins/users/collection";
export { createStores } from "./adapters";
export { type CachesyncApp, createApp, createRouter, type Stores } from "./core/app";
export type { AppEnv, AuthUser } from "./core/app-env";
export { type Config, ConfigError, loadConfig, makeConfig } from "./core/config";
export * from "./core/errors";
export {
  compose,
  type HookSpec,
  PHASES,
  type Phase,
  type RepoCall,
  type RepoHook,
  type WriteChange,
  type WriteContext,
} from "./core/hooks";
export { createLogger, type Logger } from "./core/logger";
export type { Plugin, PluginContext, Services } from "./core/plugin";
export type { CacheStore } from "./core/ports/cache-store";
export type { CollectionPort, DocumentStore } from "./core/ports/document-store";
export type { EventBus } from "./core/ports/event-bus";
export { type CacheSyncHandle, type CacheSyncOptions, createCacheSync } from "./library";
export { defaultPlugins } from "./plugins";
