/** Who favorited which listing; profile reads a user's favorites through the listings cache. */
export const FAVORITES_COLLECTION = "favorites";
