import { EJSON } from "bson";
import type { HookSpec, RepoCall } from "../../src/core/hooks";
import type { Plugin, PluginContext } from "../../src/core/plugin";
import type { Doc, Filter, FindOneAndUpdateOptions } from "../../src/core/ports/document-store";
import type { CacheEngine } from "../cache-sync/engine";
import { markStale } from "../cache-sync/stale-scope";
import { listCacheMetrics } from "./metrics";
import { listScope, ownerHex, ownersInFilter, ownersInUpdate } from "./scope";

export { listScope } from "./scope";

/**
 * Clock-skew margin between API instances, in ms. Entry versions are fill-start timestamps taken
 * on whichever instance filled; an invalidation leaves a tombstone at `now + SKEW_MS`. A fill on
 * an instance whose clock runs up to SKEW_MS ahead, started before the write, still carries a
 * version below the tombstone and is refused. The price: fills started less than SKEW_MS after
 * a write are refused too (those reads are served from MongoDB, correct, just not cached).
 * Instances whose clocks differ by more than this break the guarantee: keep NTP on.
 */
export const SKEW_MS = 1000;

export const DEFAULT_LIST_COLLECTIONS: Readonly<Record<string, string>> = {
  listings: "userId",
  favorites: "userId",
};
export const DEFAULT_LIST_TTL_SECONDS = 300;

export interface ListCacheOptions {
  /** Collection → owner field. Default `{ listings: "userId", favorites: "userId" }`. */
  collections?: Record<string, string>;
  /** Entry TTL. Default 300 s. */
  ttlSeconds?: number;
}

/** `<prefix>list:<collection>:<owner hex>`: one key per (collection, owner), any query shape. */
export const listKey = (prefix: string, collection: string, owner: string) =>
  `${prefix}list:${collection}:${owner}`;

/** The stored value. `version` is read by the setIfNewer / invalidateVersioned scripts. */
interface ListEntry {
  version: number;
  q: string;
  /** Canonical EJSON, so ObjectIds and Dates come back as ObjectIds and Dates. */
  items: unknown;
}

const SINGLE = new Set(["updateOne", "deleteOne", "findOneAndUpdate"]);
const UPDATES = new Set(["updateOne", "updateMany", "findOneAndUpdate"]);

/**
 * Cache-aside for owner-scoped list queries (a user's listings and favorites, as the profile
 * reads them), invalidated through write hooks on the same collections.
 *
 * Race safety: a miss takes `startedAt = Date.now()` before the MongoDB read and stores with
 * `setIfNewer(key, …, startedAt)`; a write, once MongoDB acknowledged it, tombstones the key at
 * `Date.now() + SKEW_MS`. A fill that started before the write therefore carries a version below
 * the tombstone and cannot land after the invalidation, while the tombstone lives
 * (max(CACHE_MARKER_TTL_MS, SKEW_MS + 1000)).
 *
 * Only writes made through the hooked repository invalidate: a service writing these collections
 * straight to MongoDB leaves entries stale for up to `ttlSeconds`.
 *
 * Redis failing: reads go to MongoDB (same breaker as the user cache: no Redis call while it is
 * not closed); a tombstone Redis did not take is recorded in `cache_repairs` (as a plain key) and
 * the breaker opens, so no list entry is read from Redis again until the probe has tombstoned it.
 */
export function listCachePlugin(options: ListCacheOptions = {}): Plugin {
  const owners: Record<string, string> = { ...(options.collections ?? DEFAULT_LIST_COLLECTIONS) };
  const ttl = options.ttlSeconds ?? DEFAULT_LIST_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 86_400)
    throw new Error(`list-cache: ttlSeconds must be an integer in 1..86400, got ${ttl}`);
  const names = Object.keys(owners);
  let engine: CacheEngine;

  const hooks = (ctx: PluginContext): HookSpec[] => {
    const { cache } = ctx.stores;
    const metrics = listCacheMetrics(ctx.metrics);
    const prefix = ctx.config.CACHE_PREFIX;
    const markerTtlMs = Math.max(ctx.config.CACHE_MARKER_TTL_MS, SKEW_MS + 1000);
    const redisError = (err: unknown) => engine.redisError(err);
    // A declared collection's sensitive fields never reach Redis (the sanitize hook, outermost,
    // strips them from what callers get; this entry is stored below it).
    const hiddenOf = new Map<string, ReadonlySet<string>>();
    const withoutSensitive = (collection: string, items: unknown): unknown => {
      let hidden = hiddenOf.get(collection);
      if (!hidden) {
        const decl = ctx.has("cache")
          ? ctx.use("cache").collection(collection)?.declaration
          : undefined;
        hidden = new Set([...(decl?.sensitive ?? []), ...ctx.config.SENSITIVE_FIELDS]);
        hiddenOf.set(collection, hidden);
      }
      if (hidden.size === 0 || !Array.isArray(items)) return items;
      const keep = hidden;
      return items.map((doc: Record<string, unknown>) =>
        Object.fromEntries(Object.entries(doc).filter(([k]) => !keep.has(k))),
      );
    };

    const invalidate = async (collection: string, ownerIds: Iterable<string>) => {
      const version = Date.now() + SKEW_MS;
      await Promise.all(
        [...new Set(ownerIds)].map(async (owner) => {
          const key = listKey(prefix, collection, owner);
          try {
            await engine.breaker.run(() => cache.invalidateVersioned(key, version, markerTtlMs), {
              write: true,
            });
          } catch (err) {
            // Durable debt + breaker open: reads bypass Redis until the probe tombstoned the key.
            await engine.oweKey(key, version, err);
          }
        }),
      );
    };

    const read: HookSpec = {
      collection: names,
      op: "find",
      run: async (call, next) => {
        const field = owners[call.collection] as string;
        const scope = listScope(call.args[0], call.args[1], field);
        if (!scope) return engine.observeMongo(next());
        const key = listKey(prefix, call.collection, scope.owner);
        const labels = { collection: call.collection };

        if (engine.breaker.allows()) {
          try {
            const raw = await engine.breaker.run(() => cache.get(key));
            if (raw !== null) {
              const entry = JSON.parse(raw) as ListEntry;
              if (entry.q === scope.q) {
                metrics.listCacheHits.inc(labels);
                if (engine.mongoDegraded()) markStale();
                // Canonical in (numbers keep int/double), native out: what the driver itself returns.
                return EJSON.deserialize(entry.items as Record<string, unknown>, { relaxed: true });
              }
            }
          } catch (err) {
            redisError(err);
          }
        }

        metrics.listCacheMisses.inc(labels);
        // The version is taken BEFORE MongoDB reads: any write acknowledged after this instant
        // tombstones the key above it, so this fill cannot land over that write.
        const startedAt = Date.now();
        const items = await engine.observeMongo(next());
        if (engine.breaker.allows()) {
          try {
            const value: ListEntry = {
              version: startedAt,
              q: scope.q,
              items: EJSON.serialize(withoutSensitive(call.collection, items), { relaxed: false }),
            };
            const json = JSON.stringify(value);
            await engine.breaker.run(() => cache.setIfNewer(key, json, startedAt, ttl));
          } catch (err) {
            redisError(err);
          }
        }
        return items;
      },
    };

    const insert: HookSpec = {
      collection: names,
      op: "insertOne",
      run: async (call, next) => {
        const field = owners[call.collection] as string;
        const affected = new Set<string>();
        const add = (v: unknown) => {
          const hex = ownerHex(v);
          if (hex) affected.add(hex);
        };
        add((call.args[0] as Record<string, unknown> | undefined)?.[field]);
        try {
          const result = (await engine.observeMongo(next())) as Doc | null;
          add(result?.[field]);
          return result;
        } finally {
          // Also after a failed write: a timed-out insert may still have been applied.
          await invalidate(call.collection, affected);
        }
      },
    };

    const write: HookSpec = {
      collection: names,
      op: ["updateOne", "updateMany", "findOneAndUpdate", "deleteOne", "deleteMany"],
      run: async (call: RepoCall, next) => {
        const field = owners[call.collection] as string;
        const filter = call.args[0] as Filter;
        const single = SINGLE.has(call.op);
        const sort =
          call.op === "findOneAndUpdate"
            ? (call.args[2] as FindOneAndUpdateOptions | undefined)?.sort
            : undefined;
        // Owners of the documents the write will touch, read before it (after a delete they are
        // gone). Single-document writes read one, in the same order the write picks it.
        const before = await engine.observeMongo(
          ctx.stores.db.collection(call.collection).find(filter, {
            projection: { [field]: 1 },
            ...(single ? { limit: 1 } : {}),
            ...(sort ? { sort } : {}),
          }),
        );
        const affected = new Set<string>(ownersInFilter(filter, field));
        for (const doc of before) {
          const hex = ownerHex(doc[field]);
          if (hex) affected.add(hex);
        }
        if (UPDATES.has(call.op))
          for (const hex of ownersInUpdate(call.args[1], field)) affected.add(hex);
        try {
          const result = await engine.observeMongo(next());
          if (call.op === "findOneAndUpdate") {
            const hex = ownerHex((result as Doc | null)?.[field]);
            if (hex) affected.add(hex);
          }
          return result;
        } finally {
          await invalidate(call.collection, affected);
        }
      },
    };

    return [read, insert, write];
  };

  return {
    name: "list-cache",
    dependencies: ["cache-sync"],
    register(ctx) {
      engine = ctx.use("cacheEngine");
    },
    hooks,
  };
}
