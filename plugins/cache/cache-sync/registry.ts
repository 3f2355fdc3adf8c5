import { PluginError } from "../../../src/core/plugin";
import type { CachedCollection, CachedDoc } from "./collection";
import { CollectionCache } from "./collection-cache";
import type { CollectionEngine } from "./collection-engine";
import type { OwnerList } from "./lists/owner-list";

/**
 * `cache.<collection>` for every declared collection, typed by declaration merging from the
 * declaration's own file:
 *   declare module "./registry" {
 *     interface CachedCollections { listings: CollectionCache<Listing> }
 *   }
 */
// biome-ignore lint: intentionally empty, filled by declaration files
export interface CachedCollections {}

// Registry members, and the admin routes' own segments (`/cache/stats`, `/cache/validate/…`).
const RESERVED = new Set([
  ...["collection", "all", "declare", "has", "declarations"],
  ...["stats", "validate", "sync", "invalidate", "bulk-sync"],
]);

/** The declared collections by name (`ctx.use("cache")`). */
export class CacheRegistry {
  private readonly byName = new Map<string, CollectionCache>();

  constructor(
    private readonly build: <T extends CachedDoc>(decl: CachedCollection<T>) => CollectionEngine<T>,
    /** The collection's declared owner lists, built by the engine's list kind. */
    private readonly buildLists: (decl: CachedCollection) => Record<string, OwnerList> = () => ({}),
  ) {}

  /**
   * Adds a declared collection (at register time, before hooks are read: a plugin may bring its
   * own declaration). Returns its API, also reachable as `cache.<name>`.
   */
  declare<T extends CachedDoc>(decl: CachedCollection<T>): CollectionCache<T> {
    const { name } = decl;
    if (this.byName.has(name))
      throw new PluginError(
        "CS_ERR_COLLECTION_DUPLICATE",
        `Collection "${name}" is declared twice`,
      );
    if (RESERVED.has(name))
      throw new PluginError("CS_ERR_COLLECTION_INVALID", `"${name}" is a reserved name`);
    const cache = new CollectionCache<T>(this.build(decl), this.buildLists(decl));
    this.byName.set(name, cache as unknown as CollectionCache);
    Object.defineProperty(this, name, { value: cache, enumerable: true });
    return cache;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The collection's API, or undefined when it is not declared. */
  collection(name: string): CollectionCache | undefined {
    return this.byName.get(name);
  }

  all(): CollectionCache[] {
    return [...this.byName.values()];
  }

  declarations(): CachedCollection[] {
    return this.all().map((c) => c.declaration);
  }
}

export type Caches = CacheRegistry & CachedCollections;
