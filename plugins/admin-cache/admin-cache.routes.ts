import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../../src/core/app-env";
import { envelope, errorResponses, ObjectIdSchema, UserSchema } from "../../src/domain/schemas";

export const CacheStatsSchema = z
  .object({
    totalUserKeys: z.number().int().nullable().openapi({
      description: "`<prefix>user:<id>` keys (SCAN count; null while Redis is unreachable)",
    }),
    emailKeys: z.number().int().nullable().openapi({
      description: "`<prefix>user:email:<email>` keys (null while Redis is unreachable)",
    }),
    redisConnected: z.boolean(),
    timestamp: z.string().openapi({ description: "ISO time of the count" }),
    hits: z.number().openapi({ description: "Cache hits counted by this instance since start" }),
    misses: z.number(),
    hitRatio: z.number().openapi({ description: "hits / (hits + misses), 0 before any read" }),
  })
  .openapi("CacheStats");

export const ConsistencyReportSchema = z
  .union([
    z.object({ consistent: z.literal(true) }),
    z.object({
      consistent: z.literal(false),
      action: z.literal("fixed"),
      difference: z.number().openapi({ description: "MongoDB balance − cached balance" }),
    }),
  ])
  .openapi("ConsistencyReport");

export const BulkSyncBodySchema = z.object({
  userIds: z.array(ObjectIdSchema).min(1).max(1000),
});

export const BulkSyncResultSchema = z
  .object({ succeeded: z.number().int(), failed: z.number().int(), total: z.number().int() })
  .openapi("BulkSyncResult");

const UserIdParams = z.object({
  userId: ObjectIdSchema.openapi({ param: { name: "userId", in: "path" } }),
});

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema: envelope(schema) } },
});

/**
 * The SPEC §5 admin cache routes. Built per app because the admin guard comes from the auth
 * plugin's service; it runs before validation, so a non-admin gets 403 even for a malformed id.
 */
export function adminCacheRoutes(requireAdmin: MiddlewareHandler<AppEnv>) {
  const common = {
    tags: ["Admin cache"],
    security: [{ bearerAuth: [] }],
    middleware: [requireAdmin],
  };
  return {
    stats: createRoute({
      ...common,
      method: "get",
      path: "/cache/stats",
      summary: "Cache key counts (SCAN) and this instance's hit ratio",
      responses: { 200: json(CacheStatsSchema, "Cache statistics"), ...errorResponses(401, 403) },
    }),
    validate: createRoute({
      ...common,
      method: "post",
      path: "/cache/validate/{userId}",
      summary: "Compare a user's cache entry with MongoDB and repair it",
      request: { params: UserIdParams },
      responses: {
        200: json(ConsistencyReportSchema, "Consistency report"),
        ...errorResponses(400, 401, 403, 503),
      },
    }),
    sync: createRoute({
      ...common,
      method: "post",
      path: "/cache/sync/{userId}",
      summary: "Rebuild a user's cache entry from MongoDB",
      request: { params: UserIdParams },
      responses: {
        200: json(UserSchema, "The rebuilt sanitized user"),
        ...errorResponses(400, 401, 403, 404, 503),
      },
    }),
    invalidate: createRoute({
      ...common,
      method: "post",
      path: "/cache/invalidate/{userId}",
      summary: "Delete a user's cache entries (by id and email)",
      request: { params: UserIdParams },
      responses: {
        200: json(z.object({ invalidated: z.literal(true) }), "Invalidated"),
        ...errorResponses(400, 401, 403, 503),
      },
    }),
    bulkSync: createRoute({
      ...common,
      method: "post",
      path: "/cache/bulk-sync",
      summary: "Rebuild up to 1000 users' cache entries",
      request: {
        body: { required: true, content: { "application/json": { schema: BulkSyncBodySchema } } },
      },
      responses: {
        200: json(BulkSyncResultSchema, "Bulk sync outcome"),
        ...errorResponses(400, 401, 403, 503),
      },
    }),
  };
}

export type AdminCacheRoutes = ReturnType<typeof adminCacheRoutes>;
