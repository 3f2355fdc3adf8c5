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
/** Who favorited which listing: `{ userId, listingId, createdAt }`. */
export const FAVORITES_COLLECTION = "favorites";

const LIST_LIMIT = 50;

/**
 * Listings, cached by id (`<prefix>listing:<id>`): the second cached collection, and the whole
 * of what caching it takes. Listings written by other services without a version count as
 * version 0 until a write through the service bumps it.
 *
 * Its owner lists, newest first: `byOwner` (a user's listings) and `favoritedBy` (the listings a
 * user favorited). Favorites are declared here, not on users: a list belongs to the collection
 * whose documents it yields and whose cache resolves its ids — the user is only its owner. Their
 * stored names (`listings`, `favorites`) keep the keys and version counters they had.
 */
export const listingsCollection = defineCachedCollection<Listing>({
  name: LISTINGS_COLLECTION,
  entity: "listing",
  // Staff moderation notes: kept in MongoDB, never cached, served or published.
  sensitive: ["internalNotes"],
  versionField: "version",
  lists: {
    byOwner: {
      owner: "userId",
      sort: { createdAt: -1 },
      limit: LIST_LIMIT,
      storedAs: "listings",
    },
    // Holds the favorited listings' ids: a listing edit never has to find the lists naming it.
    favoritedBy: {
      members: FAVORITES_COLLECTION,
      owner: "userId",
      pick: "listingId",
      sort: { createdAt: -1 },
      limit: LIST_LIMIT,
      storedAs: "favorites",
    },
  },
});
