import { createRoute } from "@hono/zod-openapi";
import { anyone, errorResponses, jsonResponse, STORE_ERRORS } from "../../../src/core/api-route";
import { ListingIdParam, ListingResult } from "./schemas";

export const getListingRoute = createRoute({
  ...anyone,
  method: "get",
  path: "/listings/{id}",
  tags: ["Listings"],
  operationId: "getListing",
  summary: "A listing",
  description: "One listing by id, read through the cache (Redis first, MongoDB on a miss).",
  request: { params: ListingIdParam },
  responses: {
    200: jsonResponse(ListingResult, "The listing"),
    ...errorResponses("VALIDATION_ERROR", "LISTING_NOT_FOUND", ...STORE_ERRORS),
  },
});
