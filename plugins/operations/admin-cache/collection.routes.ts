import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import {
  errorResponses,
  JSON_BODY_ERRORS,
  jsonBody,
  STORE_ERRORS,
} from "../../../src/core/api-route";
import type { AppEnv } from "../../../src/core/app-env";
import { envelope, ObjectIdSchema } from "../../../src/domain/schemas";
import { ADMIN_ERRORS } from "../../features/auth";
import { adminCacheRoute } from "./admin-cache.routes";

const CollectionName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_]*$/, "a collection name")
  .openapi({ param: { name: "collection", in: "path" }, example: "listings" });

const CollectionParams = z.object({ collection: CollectionName });
const EntryParams = z.object({
  collection: CollectionName,
  id: ObjectIdSchema.openapi({ param: { name: "id", in: "path" } }),
});

export const CollectionStatsSchema = z
  .object({
    collection: z.string(),
    keys: z.number().int().nullable().openapi({
      description: "`<prefix><entity>:<id>` keys (SCAN count; null while Redis is unreachable)",
    }),
    redisConnected: z.boolean(),
    hits: z.number().openapi({ description: "Cache hits counted by this instance since start" }),
    misses: z.number(),
    hitRatio: z.number().openapi({ description: "hits / (hits + misses), 0 before any read" }),
    timestamp: z.string().openapi({ description: "ISO time of the count" }),
  })
  .openapi("CollectionCacheStats");

export const EntryReportSchema = z
  .union([
    z.object({ consistent: z.literal(true) }),
    z.object({ consistent: z.literal(false), action: z.literal("fixed") }),
  ])
  .openapi("EntryConsistencyReport");

const EntrySchema = z.looseObject({ id: z.string(), version: z.number().optional() });

export const CollectionBulkSyncBody = z.object({ ids: z.array(ObjectIdSchema).min(1).max(1000) });

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema: envelope(schema) } },
});

const ENTRY_ERRORS = ["VALIDATION_ERROR", ...ADMIN_ERRORS, "COLLECTION_NOT_FOUND"] as const;

/**
 * `/cache/{collection}/…`: the admin cache operations for any declared collection (SPEC §8),
 * beside SPEC §5's user routes, which they do not change.
 */
export function collectionCacheRoutes(requireAdmin: MiddlewareHandler<AppEnv>) {
  const common = adminCacheRoute(requireAdmin);
  return {
    stats: createRoute({
      ...common,
      method: "get",
      path: "/cache/{collection}/stats",
      operationId: "getCollectionCacheStats",
      summary: "A cached collection's statistics",
      description: "Entry key count (SCAN) and this instance's hits and misses for the collection.",
      request: { params: CollectionParams },
      responses: {
        200: json(CollectionStatsSchema, "Collection cache statistics"),
        ...errorResponses(...ENTRY_ERRORS),
      },
    }),
    validate: createRoute({
      ...common,
      method: "post",
      path: "/cache/{collection}/validate/{id}",
      operationId: "validateCollectionCache",
      summary: "Check a cache entry against MongoDB",
      description: "Compares the cached entry with MongoDB and repairs it when they differ.",
      request: { params: EntryParams },
      responses: {
        200: json(EntryReportSchema, "Consistency report"),
        ...errorResponses(...ENTRY_ERRORS, ...STORE_ERRORS),
      },
    }),
    sync: createRoute({
      ...common,
      method: "post",
      path: "/cache/{collection}/sync/{id}",
      operationId: "syncCollectionCache",
      summary: "Rebuild a cache entry",
      description: "Reads the document from MongoDB and rewrites its cache entry.",
      request: { params: EntryParams },
      responses: {
        200: json(EntrySchema, "The rebuilt sanitized document"),
        ...errorResponses(...ENTRY_ERRORS, "NOT_FOUND", ...STORE_ERRORS),
      },
    }),
    invalidate: createRoute({
      ...common,
      method: "post",
      path: "/cache/{collection}/invalidate/{id}",
      operationId: "invalidateCollectionCache",
      summary: "Drop a cache entry",
      description: "Deletes the entry and its index keys; a fill already in flight cannot land.",
      request: { params: EntryParams },
      responses: {
        200: json(z.object({ invalidated: z.literal(true) }), "Invalidated"),
        ...errorResponses(...ENTRY_ERRORS),
      },
    }),
    bulkSync: createRoute({
      ...common,
      method: "post",
      path: "/cache/{collection}/bulk-sync",
      operationId: "bulkSyncCollectionCache",
      summary: "Rebuild many cache entries",
      description:
        "Rebuilds up to 1000 entries from MongoDB (ids de-duplicated); unknown ids count as failed.",
      request: {
        params: CollectionParams,
        body: jsonBody(CollectionBulkSyncBody, { ids: ["665f1c2e8b3f4a0012345678"] }),
      },
      responses: {
        200: json(
          z.object({
            succeeded: z.number().int(),
            failed: z.number().int(),
            total: z.number().int(),
          }),
          "Bulk sync outcome",
        ),
        ...errorResponses(...JSON_BODY_ERRORS, ...ENTRY_ERRORS, ...STORE_ERRORS),
      },
    }),
  };
}

export type CollectionCacheRoutes = ReturnType<typeof collectionCacheRoutes>;
