/**
 * cachesync as a library: build the app (or only the service) from a config, plugins and stores.
 */

export type {
  BalanceService,
  CacheSyncService,
  ConsistencyReport,
} from "../plugins/cache/cache-sync";
export {
  type CachedCollection,
  type CachedCollectionOptions,
  type CachedCollections,
  type CachedDoc,
  type Caches,
  CollectionCache,
  defineCachedCollection,
} from "../plugins/cache/cache-sync";
export { type Listing, listingsCollection } from "../plugins/features/listings";
export type { PublicUser, SanitizedUser, UserDoc } from "../plugins/features/users";
export { usersCollection } from "../plugins/features/users/collection";
export { createStores } from "../src/adapters";
export { type CachesyncApp, createApp, createRouter, type Stores } from "../src/core/app";
export type { AppEnv, AuthUser } from "../src/core/app-env";
export { type Config, ConfigError, loadConfig, makeConfig } from "../src/core/config";
export * from "../src/core/errors";
export {
  compose,
  type HookSpec,
  PHASES,
  type Phase,
  type RepoCall,
  type RepoHook,
  type WriteChange,
  type WriteContext,
} from "../src/core/hooks";
export { createLogger, type Logger } from "../src/core/logger";
export type { Plugin, PluginContext, Services } from "../src/core/plugin";
export type { CacheStore } from "../src/core/ports/cache-store";
export type { CollectionPort, DocumentStore } from "../src/core/ports/document-store";
export type { EventBus } from "../src/core/ports/event-bus";
export { type CacheSyncHandle, type CacheSyncOptions, createCacheSync } from "./library";
export { defaultPlugins } from "./plugins";
