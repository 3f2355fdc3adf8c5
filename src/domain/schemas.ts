import { z } from "@hono/zod-openapi";

/**
 * OpenAPI building blocks of the SPEC §5 envelope and the user shape, shared by every plugin so
 * the document describes one error shape and one user, not one per plugin.
 */
export const envelope = <T extends z.ZodType>(data: T) =>
  z.object({ success: z.literal(true), data, message: z.string().optional() });

export const ErrorSchema = z
  .object({
    success: z.literal(false),
    error: z.object({
      code: z.string().openapi({ example: "VALIDATION_ERROR" }),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi("Error");

export const errorResponse = (description: string) => ({
  content: { "application/json": { schema: ErrorSchema } },
  description,
});

const ERROR_TEXT = {
  400: "Malformed id, body or query",
  401: "Missing or invalid token",
  403: "Not allowed (admin only)",
  404: "Unknown resource",
  409: "Conflicting state",
  429: "Too many requests",
  503: "A store (MongoDB or Redis) is unavailable",
} as const;

type ErrorStatus = keyof typeof ERROR_TEXT;
type ErrorResponse = ReturnType<typeof errorResponse>;

/** `responses` entries for the given error statuses, all with the error envelope. */
export function errorResponses<const S extends readonly ErrorStatus[]>(...statuses: S) {
  const out = {} as { [K in S[number]]: ErrorResponse };
  for (const s of statuses)
    (out as Record<number, ErrorResponse>)[s] = errorResponse(ERROR_TEXT[s]);
  return out;
}

/** A 24-hex MongoDB ObjectId, the only id shape the API accepts. */
export const ObjectIdSchema = z
  .string()
  .regex(/^[0-9a-fA-F]{24}$/, "must be a 24-character hex ObjectId")
  .openapi({ example: "665f1c2e8b3f4a0012345678" });

export const WalletSchema = z
  .object({ balance: z.number().int(), currency: z.string() })
  .openapi("Wallet");

/** SanitizedUser: `id` never `_id`, no secrets; loose because the sanitizer owns the field list. */
export const UserSchema = z
  .looseObject({
    id: z.string(),
    email: z.string(),
    username: z.string(),
    role: z.enum(["user", "admin"]),
    displayName: z.string(),
    bio: z.string(),
    avatarUrl: z.string(),
    wallet: WalletSchema,
    version: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("User");
