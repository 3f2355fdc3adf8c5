import { ObjectId } from "bson";
import type { RepoCall } from "../../src/core/hooks";
import type { Plugin } from "../../src/core/plugin";
import type { CollectionCache } from "../cache-sync/collection-cache";
import { USER_COLLECTION } from "../users/user";

/**
 * A repository `findOne({ _id })` or `findOne({ <unique field>: value })` with no options on a
 * declared collection: the intent it encodes, or null. Callers should state the intent instead
 * (`cache.<collection>.get(id)`); this keeps repository readers on the cache meanwhile.
 */
function intentOf(cache: CollectionCache, call: RepoCall): (() => Promise<unknown>) | null {
  const [filter, options] = call.args as [Record<string, unknown> | undefined, object | undefined];
  if (!filter || (options && Object.keys(options).length > 0)) return null;
  const keys = Object.keys(filter);
  if (keys.length !== 1) return null;
  const field = keys[0] as string;
  const value = filter[field];
  if (field === "_id" && value instanceof ObjectId) return () => cache.get(value.toHexString());
  if (typeof value === "string" && cache.declaration.unique.some((u) => u.field === field))
    return () => cache.getBy(field, value);
  return null;
}

/**
 * Cache-aside for repository reads of users (the first stage's callers read them so): a
 * `findOne` by id or by a unique field is answered by the users cache (Redis first, single
 * flight, leased fill). Other collections' repository reads return stored documents; their
 * callers read through the cache by intent (`cache.listings.get(id)`).
 */
export function cacheAsidePlugin(): Plugin {
  return {
    name: "cache-aside",
    dependencies: ["cache-sync"],
    hooks: (ctx) => {
      const caches = ctx.use("cache");
      const engine = ctx.use("cacheEngine");
      return caches
        .all()
        .filter((cache) => cache.name === USER_COLLECTION)
        .map((cache) => ({
          collection: cache.name,
          op: "findOne",
          run: (call: RepoCall, next: () => Promise<unknown>) => {
            // The engine's own miss read: it goes on to MongoDB.
            if (call.state.cacheLoad) return next();
            const read = intentOf(cache, call);
            if (!read) return engine.observeMongo(next());
            call.state.sanitized = true;
            return read();
          },
        }));
    },
  };
}
