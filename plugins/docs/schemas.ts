import { z } from "@hono/zod-openapi";

/**
 * OpenAPI building blocks for the SPEC §5 envelope, shared by every route this team documents so
 * the document describes one error shape, not one per plugin.
 */
export const ErrorEnvelopeSchema = z
  .object({
    success: z.literal(false),
    error: z.object({
      code: z.string().openapi({ example: "VALIDATION_ERROR" }),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi("ErrorEnvelope");

export function successEnvelope<T extends z.ZodType>(data: T) {
  return z.object({ success: z.literal(true), data, message: z.string().optional() });
}

const ERROR_TEXT = {
  400: "Malformed id, body or query",
  401: "Missing or invalid token",
  403: "Not allowed (admin only)",
  404: "Unknown resource",
  429: "Too many requests",
  503: "A store (MongoDB or Redis) is unavailable",
} as const;

type ErrorStatus = keyof typeof ERROR_TEXT;

/** `responses` entries for the given error statuses, all with the error envelope. */
export function errorResponses<const S extends readonly ErrorStatus[]>(...statuses: S) {
  const out = {} as { [K in S[number]]: { description: string; content: { "application/json": { schema: typeof ErrorEnvelopeSchema } } } };
  for (const s of statuses) {
    (out as Record<number, unknown>)[s] = { description: ERROR_TEXT[s], content: { "application/json": { schema: ErrorEnvelopeSchema } } };
  }
  return out;
}

/** A 24-hex MongoDB ObjectId, the only id shape the API accepts. */
export const ObjectIdSchema = z
  .string()
  .regex(/^[0-9a-fA-F]{24}$/, "must be a 24-character hex ObjectId")
  .openapi({ example: "665f1c2e8b3f4a0012345678" });

/** What a user looks like in responses and events (SPEC §2: no secrets, `id` not `_id`). */
export const SanitizedUserSchema = z
  .looseObject({
    id: z.string(),
    email: z.string(),
    username: z.string(),
    role: z.enum(["user", "admin"]),
    displayName: z.string(),
    bio: z.string(),
    avatarUrl: z.string(),
    wallet: z.object({ balance: z.number().int(), currency: z.string() }),
    version: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("SanitizedUser");
