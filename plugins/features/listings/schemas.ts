import { z } from "@hono/zod-openapi";
import { envelope, ObjectIdSchema } from "../../../src/domain/schemas";

/** A listing in the API shape; loose, since other services own its fields. */
export const ListingSchema = z
  .looseObject({ id: z.string(), version: z.number().int().optional() })
  .openapi("Listing");

export const ListingResult = envelope(ListingSchema).openapi("ListingResult");

export const ListingIdParam = z.object({
  id: ObjectIdSchema.openapi({ param: { name: "id", in: "path" } }),
});
