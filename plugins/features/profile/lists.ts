import type { OwnerListDeclaration } from "../../cache/cache-sync";
import { LISTINGS_COLLECTION } from "../listings";
import { FAVORITES_COLLECTION } from "./collections";

const PROFILE_LIST_LIMIT = 50;

/** The two lists GET /users/me shows, newest first: the caller's listings and favorites. */
export const PROFILE_LISTS: readonly OwnerListDeclaration[] = [
  {
    name: "listings",
    collection: LISTINGS_COLLECTION,
    owner: "userId",
    sort: { createdAt: -1 },
    limit: PROFILE_LIST_LIMIT,
  },
  {
    // Holds the favorited listings' ids: a listing edit never has to find the lists naming it.
    name: "favorites",
    collection: FAVORITES_COLLECTION,
    owner: "userId",
    sort: { createdAt: -1 },
    limit: PROFILE_LIST_LIMIT,
    pick: "listingId",
  },
];
