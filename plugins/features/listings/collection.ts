import { defineCachedCollection } from "../../cache/cache-sync/collection";
import type { CollectionCache } from "../../cache/cache-sync/collection-cache";

/** A listing as it leaves the cache: the API shape (`id` hex, ISO dates) with its version. */
export interface Listing {
  id: string;
  version: number;
  userId?: string;
  title?: string;
  [field: string]: unknown;
}

declare module "../../cache/cache-sync/registry" {
  interface CachedCollections {
    listings: CollectionCache<Listing>;
  }
}

export const LISTINGS_COLLECTION = "listings";

/**
 * Listings, cached by id (`<prefix>listing:<id>`): the second cached collection, and the whole
 * of what caching it takes. Listings written by other services without a version count as
 * version 0 until a write through the service bumps it.
 */
export const listingsCollection = defineCachedCollection<Listing>({
  name: LISTINGS_COLLECTION,
  entity: "listing",
  // Staff moderation notes: kept in MongoDB, never cached, served or published.
  sensitive: ["internalNotes"],
  versionField: "version",
});
