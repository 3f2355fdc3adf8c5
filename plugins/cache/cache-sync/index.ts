import { StoreUnavailableError } from "../../../src/core/errors";
import type { Plugin } from "../../../src/core/plugin";
import { USER_COLLECTION } from "../../features/users";
import { usersCollection } from "../../features/users/collection";
import type { CacheSyncService } from "./cache-sync-service";
import type { CachedCollection, CachedDoc } from "./collection";
import { CollectionEngine } from "./collection-engine";
import { CacheCore } from "./core";
import { CacheEngine } from "./engine";
import { OwnerListSet } from "./lists";
import { startMongoHeartbeat } from "./mongo-heartbeat";
import { CacheRegistry, type Caches } from "./registry";
import { CacheSyncServiceImpl } from "./service";
import { staleHeaderMiddleware } from "./stale-scope";

export type {
  BalanceChange,
  BalanceResult,
  BalanceService,
  CacheSyncService,
  ConsistencyReport,
} from "./cache-sync-service";
export {
  type CachedCollection,
  type CachedCollectionOptions,
  type CachedDoc,
  defineCachedCollection,
} from "./collection";
export { CollectionCache, type WriteContext } from "./collection-cache";
export { CollectionEngine } from "./collection-engine";
export { CacheEngine } from "./engine";
export { emailKey, entryKey, indexKey, userKey } from "./keys";
export type {
  OwnerListDeclaration,
  OwnerListOptions,
  OwnerListReader,
  OwnerLists,
} from "./lists";
export { type CacheMetrics, cacheMetrics } from "./metrics";
export type { CachedCollections, Caches } from "./registry";
export { CACHE_REPAIRS_COLLECTION } from "./repair-log";
export { STALE_HEADER } from "./stale-scope";

declare module "../../../src/core/plugin" {
  interface Services {
    /** The users collection's engine (first-stage name, kept for change streams and tests). */
    cacheEngine: CacheEngine;
    /** Every declared collection by name: `ctx.use("cache").users.get(id)`. */
    cache: Caches;
    cacheSync: CacheSyncService;
  }
}

export interface CacheSyncOptions {
  /** The cached collections (users is always one); plugins may add theirs with `cache.declare`. */
  collections?: readonly CachedCollection[];
}

/**
 * The sync engine: one core (breaker, repair log, protections) and one CollectionEngine per
 * declared collection, provided as `cache` (reads by intent, admin operations), `cacheEngine`
 * (the users engine), `ownerLists` (the lists the declarations name, read through
 * `cache.<name>.lists`) and the SPEC §2 CacheSyncService facade. Its hooks watch MongoDB's
 * health on every declared collection's reads and writes (`read` / `write` phases), so cache
 * hits can be marked stale while it is down, and change the owner lists on every write to one
 * of their member collections.
 */
export function cacheSyncPlugin(options: CacheSyncOptions = {}): Plugin {
  let core: CacheCore | undefined;
  let lists: OwnerListSet | undefined;
  let stopHeartbeat: (() => void) | undefined;
  const declared = [usersCollection, ...(options.collections ?? [])].filter(
    (d, i, all) => all.findIndex((x) => x.name === d.name) === i,
  );
  return {
    name: "cache-sync",
    register(ctx) {
      const c = new CacheCore(ctx);
      core = c;
      const extra = ctx.config.SENSITIVE_FIELDS;
      const owned = new OwnerListSet(ctx, c);
      lists = owned;
      const registry = new CacheRegistry(
        <T extends CachedDoc>(decl: CachedCollection<T>) =>
          decl.name === USER_COLLECTION
            ? (new CacheEngine(decl as never, c, extra) as unknown as CollectionEngine<T>)
            : new CollectionEngine<T>(decl, c, extra),
        (decl) => Object.fromEntries(Object.entries(decl.lists).map(([n, d]) => [n, owned.add(d)])),
      );
      for (const decl of declared) registry.declare(decl);
      const caches = registry as Caches;
      // After a Redis failover, debts (writes the old master may have lost) are settled first.
      ctx.stores.cache.onFailover(async () => {
        await c.repairPending();
      });
      ctx.provide("cache", caches);
      ctx.provide("cacheEngine", caches.users.engine as CacheEngine);
      ctx.provide("cacheSync", new CacheSyncServiceImpl(ctx, caches.users));
      ctx.provide("ownerLists", owned);
    },
    hooks: (ctx) => {
      const names = ctx
        .use("cache")
        .declarations()
        .map((d) => d.name);
      const watch = (_call: unknown, next: () => Promise<unknown>) =>
        (core as CacheCore).observeMongo(next());
      return [
        { phase: "read", collection: names, run: watch },
        { phase: "write", collection: names, run: watch },
        // The declared owner lists: every write to a member collection changes their entries.
        ...(lists as OwnerListSet).hooks(),
      ];
    },
    middleware: () => [staleHeaderMiddleware()],
    async onReady(ctx) {
      if (core) stopHeartbeat = startMongoHeartbeat(core, ctx.stores.db);
      // Debts left by a previous process are settled before this one trusts Redis.
      try {
        const n = await core?.repairPending();
        if (n) ctx.logger.info({ repaired: n }, "settled cache repairs from an earlier run");
      } catch (err) {
        // The repair log lives in MongoDB: name the store that failed, not always Redis.
        const store = err instanceof StoreUnavailableError ? err.store : undefined;
        const who = store === "mongo" ? "MongoDB" : store === "redis" ? "Redis" : "a store";
        const cause = `${who} unavailable at start-up, earlier cache repairs not settled`;
        ctx.logger.warn({ err }, `${cause}; reads bypass Redis until they are`);
        core?.breaker.trip(cause);
      }
      // After the repair pass, which names the store that failed at start-up.
      const indexes = lists?.indexes() ?? [];
      if (indexes.length) await ctx.ensureIndexes(indexes);
    },
    async onClose() {
      stopHeartbeat?.();
      core?.breaker.stop();
      await core?.breaker.settle();
      core?.close();
    },
  };
}
