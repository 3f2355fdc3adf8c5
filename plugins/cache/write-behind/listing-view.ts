import type { RouteHandler } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import { ObjectId } from "bson";
import { anyone, errorResponses, jsonResponse, STORE_ERRORS } from "../../../src/core/api-route";
import type { AppEnv } from "../../../src/core/app-env";
import { appError, ok } from "../../../src/core/errors";
import type { PluginContext } from "../../../src/core/plugin";
import type { Doc } from "../../../src/core/ports/document-store";
import { envelope, ObjectIdSchema } from "../../../src/domain/schemas";
import { LISTINGS_COLLECTION } from "../../features/listings";
import type { WriteBehindQueue } from "./queue";

export const VIEW_FIELD = "viewCount";

const ViewResult = envelope(
  z.object({
    id: z.string(),
    viewCount: z
      .number()
      .int()
      .openapi({ description: "The count with this view, queued ones included" }),
  }),
).openapi("ListingViewResult");

export const listingViewRoute = createRoute({
  ...anyone,
  method: "post",
  path: "/listings/{id}/view",
  tags: ["Listings"],
  operationId: "recordListingView",
  summary: "Count a view of a listing",
  description:
    "Adds one to the listing's `viewCount` through the write-behind queue: the answer and every read show it at once, MongoDB gets it with the next batch (docs/WRITE-BEHIND.md). 503 when Redis failed while taking it (it may or may not count; never twice).",
  request: {
    params: z.object({ id: ObjectIdSchema.openapi({ param: { name: "id", in: "path" } }) }),
  },
  responses: {
    200: jsonResponse(ViewResult, "The view is counted"),
    ...errorResponses("VALIDATION_ERROR", "LISTING_NOT_FOUND", ...STORE_ERRORS),
  },
});

/**
 * Existence through the listings cache (cache.listings; the repository where listings are not a
 * cached collection), whose read already shows queued views, then one queued `+1`. Under concurrent views the count answered may already
 * include others' views: it is what a read right after would show.
 */
export function listingViewHandler(
  ctx: PluginContext,
  queue: WriteBehindQueue,
): RouteHandler<typeof listingViewRoute, AppEnv> {
  return async (c) => {
    const { id } = c.req.valid("param");
    const listing =
      ctx.has("cache") && ctx.use("cache").has(LISTINGS_COLLECTION)
        ? await ctx.use("cache").collection(LISTINGS_COLLECTION)?.get(id)
        : await ctx.repo.collection<Doc>(LISTINGS_COLLECTION).findOne({ _id: new ObjectId(id) });
    if (!listing) throw appError("LISTING_NOT_FOUND");
    await queue.change(LISTINGS_COLLECTION, id, { add: { [VIEW_FIELD]: 1 } });
    const before = typeof listing[VIEW_FIELD] === "number" ? (listing[VIEW_FIELD] as number) : 0;
    return c.json(ok({ id, viewCount: before + 1 }), 200);
  };
}
