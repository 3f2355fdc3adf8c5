import { ObjectId } from "bson";
import type { CollectionCache } from "../../plugins/cache/cache-sync";
import type { PluginContext } from "../../src/core/plugin";
import { seedListing, seedUser } from "../support/seed";

/**
 * The cached collections the engine's guarantees are checked on, one declaration each: the
 * same interleaving, crash and secrets tests run for users and listings.
 */
export interface Subject {
  name: "users" | "listings";
  /** A field a write may change (a plain string). */
  field: string;
  /** A new document through the hooked repository: its id and version. */
  seed(ctx: PluginContext): Promise<{ id: string; version: number }>;
}

export const SUBJECTS: readonly Subject[] = [
  {
    name: "users",
    field: "bio",
    seed: async (ctx) => {
      const u = await seedUser(ctx);
      return { id: u.id, version: u.version };
    },
  },
  {
    name: "listings",
    field: "title",
    seed: async (ctx) => {
      const l = await seedListing(ctx);
      return { id: l.id, version: l.version };
    },
  },
];

export const cacheOf = (ctx: PluginContext, s: Subject): CollectionCache => {
  const c = ctx.use("cache").collection(s.name);
  if (!c) throw new Error(`${s.name} is not a declared collection`);
  return c;
};

/** MongoDB's version of a document (raw store). */
export const dbVersionOf = async (ctx: PluginContext, s: Subject, id: string) =>
  Number(
    (await ctx.stores.db.collection(s.name).findOne({ _id: new ObjectId(id) }))?.version ?? -1,
  );
