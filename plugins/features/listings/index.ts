import { createRouter } from "../../../src/core/app";
import type { Plugin } from "../../../src/core/plugin";
import { listingsCollection } from "./collection";
import { getListingHandler } from "./handlers";
import { getListingRoute } from "./routes";

export {
  FAVORITES_COLLECTION,
  LISTINGS_COLLECTION,
  type Listing,
  listingsCollection,
} from "./collection";
export { ListingSchema } from "./schemas";

/**
 * Listings as a cached collection: its declaration (collection.ts) gives it everything the
 * engine gives users; this plugin adds it to the engine and serves `GET /listings/:id`.
 */
export function listingsPlugin(): Plugin {
  return {
    name: "listings",
    dependencies: ["cache-sync"],
    register(ctx) {
      if (!ctx.use("cache").has(listingsCollection.name))
        ctx.use("cache").declare(listingsCollection);
    },
    routes(ctx) {
      const router = createRouter();
      router.openapi(getListingRoute, getListingHandler(ctx));
      return router;
    },
  };
}
