import { z } from "@hono/zod-openapi";

/** The success envelope around `data`, as every route answers. */
export const envelope = <T extends z.ZodType>(data: T) =>
  z.object({ success: z.literal(true), data, message: z.string().optional() });

export const ErrorSchema = z
  .object({
    success: z.literal(false),
    error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
  })
  .openapi("Error");

export const errorResponse = (description: string) => ({
  content: { "application/json": { schema: ErrorSchema } },
  description,
});

export const WalletSchema = z.object({ balance: z.number().int(), currency: z.string() }).openapi("Wallet");

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

// Plain strings only: an object such as {"$ne": null} never reaches a query.
const email = z.string().trim().toLowerCase().max(254).pipe(z.email());

export const RegisterBody = z
  .strictObject({
    email,
    username: z.string().regex(/^[a-zA-Z0-9_]{3,30}$/, "3-30 letters, digits or _"),
    password: z.string().min(8).max(128),
  })
  .openapi("RegisterRequest");

export const LoginBody = z
  .strictObject({ email, password: z.string().min(1).max(128) })
  .openapi("LoginRequest");

export const AuthResult = envelope(z.object({ token: z.string(), user: UserSchema })).openapi("AuthResult");
export const LogoutResult = envelope(z.object({ loggedOut: z.literal(true) })).openapi("LogoutResult");
export const SseTicketResult = envelope(z.object({ ticket: z.string(), expiresIn: z.number().int() })).openapi("SseTicket");
