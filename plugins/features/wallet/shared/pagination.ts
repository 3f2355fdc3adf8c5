import { z } from "@hono/zod-openapi";
import { ObjectId } from "bson";
import { appError } from "../../../../src/core/errors";
import { isObjectIdHex } from "../../../../src/core/object-id";
import type { Filter } from "../../../../src/core/ports/document-store";
import { ObjectIdSchema } from "../../../../src/domain/schemas";

export const PageQuery = {
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .default(20)
    .openapi({ param: { name: "limit", in: "query" } }),
  cursor: z
    .string()
    .max(64)
    .optional()
    .openapi({
      param: { name: "cursor", in: "query" },
      description: "nextCursor of the previous page",
    }),
};

/** Opaque to clients: base64url of the last item's ObjectId (newest first = descending _id). */
export const encodeCursor = (id: ObjectId) =>
  Buffer.from(id.toHexString(), "hex").toString("base64url");

export function decodeCursor(cursor: string | undefined): ObjectId | null {
  if (!cursor) return null;
  const hex = Buffer.from(cursor, "base64url").toString("hex");
  if (!isObjectIdHex(hex) || encodeCursor(new ObjectId(hex)) !== cursor) {
    throw appError("INVALID_CURSOR");
  }
  return new ObjectId(hex);
}

/**
 * One page, newest first. Fetches limit + 1 to know whether a next page exists without a count.
 */
export async function page<T extends { _id: ObjectId }>(
  find: (filter: Filter, opts: { sort: Record<string, -1>; limit: number }) => Promise<T[]>,
  filter: Filter,
  q: { limit: number; cursor?: string },
): Promise<{ items: T[]; nextCursor: string | null }> {
  const after = decodeCursor(q.cursor);
  const docs = await find(after ? { ...filter, _id: { $lt: after } } : filter, {
    sort: { _id: -1 },
    limit: q.limit + 1,
  });
  const items = docs.slice(0, q.limit);
  const last = items[items.length - 1];
  return { items, nextCursor: docs.length > q.limit && last ? encodeCursor(last._id) : null };
}

export const ObjectIdParam = z.object({
  id: ObjectIdSchema.openapi({ param: { name: "id", in: "path" } }),
});
