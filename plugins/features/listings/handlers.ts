import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../../src/core/app-env";
import { appError, ok } from "../../../src/core/errors";
import type { PluginContext } from "../../../src/core/plugin";
import type { getListingRoute } from "./routes";

export function getListingHandler(
  ctx: PluginContext,
): RouteHandler<typeof getListingRoute, AppEnv> {
  const cache = ctx.use("cache");
  return async function getListing(c) {
    const { id } = c.req.valid("param");
    const listing = await cache.listings.get(id);
    if (!listing) throw appError("LISTING_NOT_FOUND");
    return c.json(ok(listing), 200);
  };
}
