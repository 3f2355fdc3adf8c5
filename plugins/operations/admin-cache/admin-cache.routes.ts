import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import {
  errorResponses,
  JSON_BODY_ERRORS,
  jsonBody,
  jsonResponse,
  STORE_ERRORS,
} from "../../../src/core/api-route";
import type { AppEnv } from "../../../src/core/app-env";
import { envelope, ObjectIdSchema, UserSchema } from "../../../src/domain/schemas";
import { ADMIN_ERRORS } from "../../features/auth";
import { ConsistencySummarySchema } from "../observatory";

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
    consistency: ConsistencySummarySchema.optional(),
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

/**
 * The SPEC §5 admin cache routes. Built per app because the admin guard comes from the auth
 * plugin's service; it runs before validation, so a non-admin gets 403 even for a malformed id.
 */
/** What every admin cache route shares: its tag, bearer security and the admin guard. */
export const adminCacheRoute = (requireAdmin: MiddlewareHandler<AppEnv>) => ({
  tags: ["Admin cache"],
  security: [{ bearerAuth: [] }],
  middleware: [requireAdmin],
});

export function adminCacheRoutes(requireAdmin: MiddlewareHandler<AppEnv>) {
  const common = adminCacheRoute(requireAdmin);
  return {
    stats: createRoute({
      ...common,
      method: "get",
      path: "/cache/stats",
      operationId: "getCacheStats",
      summary: "Cache statistics",
      description:
        "User and email key counts (SCAN over this deployment's prefix; null while Redis is unreachable) and this instance's hit ratio since start.",
      responses: {
        200: jsonResponse(envelope(CacheStatsSchema), "Cache statistics"),
        ...errorResponses(...ADMIN_ERRORS),
      },
    }),
    validate: createRoute({
      ...common,
      method: "post",
      path: "/cache/validate/{userId}",
      operationId: "validateUserCache",
      summary: "Check a user's cache entry against MongoDB",
      description:
        "Compares the cached user with MongoDB and repairs the entry when they differ; `difference` is MongoDB's balance minus the cached one.",
      request: { params: UserIdParams },
      responses: {
        200: jsonResponse(envelope(ConsistencyReportSchema), "Consistency report"),
        ...errorResponses("VALIDATION_ERROR", ...ADMIN_ERRORS, ...STORE_ERRORS),
      },
    }),
    sync: createRoute({
      ...common,
      method: "post",
      path: "/cache/sync/{userId}",
      operationId: "syncUserCache",
      summary: "Rebuild a user's cache entry",
      description: "Reads the user from MongoDB and rewrites the cache entry (by id and email).",
      request: { params: UserIdParams },
      responses: {
        200: jsonResponse(envelope(UserSchema), "The rebuilt sanitized user"),
        ...errorResponses("VALIDATION_ERROR", ...ADMIN_ERRORS, "USER_NOT_FOUND", ...STORE_ERRORS),
      },
    }),
    invalidate: createRoute({
      ...common,
      method: "post",
      path: "/cache/invalidate/{userId}",
      operationId: "invalidateUserCache",
      summary: "Drop a user's cache entries",
      description:
        "Deletes the user's entries (by id and email) behind a short tombstone, so a fill already in flight cannot bring the old version back.",
      request: { params: UserIdParams },
      responses: {
        200: jsonResponse(envelope(z.object({ invalidated: z.literal(true) })), "Invalidated"),
        ...errorResponses("VALIDATION_ERROR", ...ADMIN_ERRORS),
      },
    }),
    bulkSync: createRoute({
      ...common,
      method: "post",
      path: "/cache/bulk-sync",
      operationId: "bulkSyncUserCaches",
      summary: "Rebuild many users' cache entries",
      description:
        "Rebuilds up to 1000 users' entries from MongoDB (ids de-duplicated); unknown ids count as failed.",
      request: { body: jsonBody(BulkSyncBodySchema, { userIds: ["665f1c2e8b3f4a0012345678"] }) },
      responses: {
        200: jsonResponse(envelope(BulkSyncResultSchema), "Bulk sync outcome"),
        ...errorResponses(...JSON_BODY_ERRORS, ...ADMIN_ERRORS, ...STORE_ERRORS),
      },
    }),
  };
}

export type AdminCacheRoutes = ReturnType<typeof adminCacheRoutes>;
