import { ObjectId } from "bson";
import type { PluginContext } from "../../../src/core/plugin";
import { userKey } from "../../cache/cache-sync/keys";
import { USER_COLLECTION, type UserDoc } from "../../features/users";
import type { CacheLayer } from "./observatory";

/** The version a cached JSON value carries (markers already read as null). */
export const versionOf = (raw: string | null): number | null =>
  raw === null ? null : ((JSON.parse(raw) as { version?: number }).version ?? null);

/** What Redis holds for the user, read straight from the store (no hit counted, no fill). */
export function redisLayer(ctx: PluginContext): CacheLayer {
  const prefix = ctx.config.CACHE_PREFIX;
  return {
    name: "redis",
    version: async (id) => versionOf(await ctx.stores.cache.get(userKey(prefix, id))),
  };
}

/** MongoDB's version of the user, the truth every layer is compared with. */
export function mongoVersion(ctx: PluginContext): (id: string) => Promise<number | null> {
  const users = () => ctx.stores.db.collection<UserDoc>(USER_COLLECTION);
  return async (id) => {
    const doc = await users().findOne({ _id: new ObjectId(id) }, { projection: { version: 1 } });
    return doc ? doc.version : null;
  };
}
