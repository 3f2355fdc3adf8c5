import { createRouter } from "../../../src/core/app";
import type { Plugin } from "../../../src/core/plugin";
import { LISTINGS_COLLECTION } from "../listings";
import { FAVORITES_COLLECTION } from "./collections";
import { getMeHandler, getUserHandler, patchMeHandler } from "./handlers";
import { getMeRoute, getUserRoute, patchMeRoute } from "./routes";

export { toApiDoc } from "../../../src/domain/api-doc";
export { PROFILE_LISTS } from "./lists";

/** GET/PATCH /users/me and the public GET /users/:id. */
export function profilePlugin(): Plugin {
  return {
    name: "profile",
    dependencies: ["cache-sync", "owner-lists", "auth", "listings"],
    routes(ctx) {
      const auth = ctx.use("auth");
      const router = createRouter();
      // /users/me is registered before /users/{id} so "me" never reaches the id validator.
      router.openapi(getMeRoute(auth), getMeHandler(ctx));
      router.openapi(patchMeRoute(auth), patchMeHandler(ctx));
      router.openapi(getUserRoute, getUserHandler(ctx));
      return router;
    },
    async onReady(ctx) {
      await ctx.ensureIndexes([
        { collection: LISTINGS_COLLECTION, key: { userId: 1, createdAt: -1 } },
        { collection: FAVORITES_COLLECTION, key: { userId: 1, createdAt: -1 } },
      ]);
    },
  };
}
