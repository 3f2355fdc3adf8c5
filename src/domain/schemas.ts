import { z } from "@hono/zod-openapi";
import { OBJECT_ID_HEX } from "../core/object-id";

/**
 * OpenAPI building blocks of the SPEC §5 success envelope and the user shape, shared by every
 * plugin so the document describes one user, not one per plugin. Error responses come from the
 * error catalogue: `errorResponses` in src/core/api-route.ts.
 */
export const envelope = <T extends z.ZodType>(data: T) =>
  z.object({ success: z.literal(true), data, message: z.string().optional() });

/** Every id in a path, query or body parses through this: canonical or 400. */
export const ObjectIdSchema = z
  .string()
  .regex(OBJECT_ID_HEX, "must be a 24-character lower-case hex ObjectId")
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
