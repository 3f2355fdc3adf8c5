import { z } from "@hono/zod-openapi";
import { envelope, UserSchema } from "../../../src/domain/schemas";

// Plain strings only: an object such as {"$ne": null} never reaches a query.
const email = z.string().trim().toLowerCase().max(254).pipe(z.email());

export const RegisterBody = z
  .strictObject({
    email,
    // ASCII letters, digits and _ only (no control, bidi or look-alike characters), stored
    // lower-case so the unique index makes "Alice" and "alice" one name.
    username: z
      .string()
      .regex(/^[a-zA-Z0-9_]{3,30}$/, "3-30 letters, digits or _")
      .toLowerCase(),
    password: z.string().min(8).max(128),
  })
  .openapi("RegisterRequest");

export const LoginBody = z
  .strictObject({ email, password: z.string().min(1).max(128) })
  .openapi("LoginRequest");

export const AuthResult = envelope(z.object({ token: z.string(), user: UserSchema })).openapi(
  "AuthResult",
);
export const LogoutResult = envelope(z.object({ loggedOut: z.literal(true) })).openapi(
  "LogoutResult",
);
export const SseTicketResult = envelope(
  z.object({ ticket: z.string(), expiresIn: z.number().int() }),
).openapi("SseTicket");
