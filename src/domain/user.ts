/**
 * Collection names not yet owned by their module. The user types moved to plugins/users; this
 * re-export keeps the sync layer's imports working until it moves to the declaration.
 */
export * from "../../plugins/users/user";

export const LISTINGS_COLLECTION = "listings";
export const FAVORITES_COLLECTION = "favorites";
/** Cache keys Redis could not take during an outage, repaired when it returns. */
export const CACHE_REPAIRS_COLLECTION = "cache_repairs";
