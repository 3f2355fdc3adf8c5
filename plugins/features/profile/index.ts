import { createRouter } from "../../../src/core/app";
import type { Plugin } from "../../../src/core/plugin";
import { getMeHandler, getUserHandler, patchMeHandler, readMe } from "./handlers";
import { getMeRoute, getUserRoute, patchMeRoute } from "./routes";

export { toApiDoc } from "../../../src/domain/api-doc";

/** GET/PATCH /users/me and the public GET /users/:id. */
export function profilePlugin(): Plugin {
  return {
    name: "profile",
    dependencies: ["cache-sync", "auth", "listings"],
    routes(ctx) {
      const auth = ctx.use("auth");
      // The profile's reads start beside the session check: one round trip for all of them.
      const me = auth.requireUserWith(readMe(ctx));
      const router = createRouter();
      // /users/me is registered before /users/{id} so "me" never reaches the id validator.
      router.openapi(getMeRoute(me), getMeHandler(me));
      router.openapi(patchMeRoute(auth), patchMeHandler(ctx));
      router.openapi(getUserRoute, getUserHandler(ctx));
      return router;
    },
  };
}
