import { z } from "@hono/zod-openapi";
import { envelope, ObjectIdSchema, UserSchema } from "../../src/domain/schemas";

export const ListingSchema = z.looseObject({ id: z.string() }).openapi("Listing");

export const MeResult = envelope(
  z.object({
    user: UserSchema,
    listings: z.array(ListingSchema),
    favorites: z.array(ListingSchema),
  }),
).openapi("Me");

export const UserResult = envelope(UserSchema).openapi("UserResult");

export const PublicUserSchema = z
  .object({
    id: z.string(),
    username: z.string(),
    displayName: z.string(),
    bio: z.string(),
    avatarUrl: z.string(),
    role: z.enum(["user", "admin"]),
    createdAt: z.string(),
  })
  .openapi("PublicUser");
export const PublicUserResult = envelope(PublicUserSchema).openapi("PublicUserResult");

const httpUrl = z
  .string()
  .trim()
  .max(2048)
  .refine((v) => {
    if (v === "") return true; // clearing the avatar
    try {
      const u = new URL(v);
      return (u.protocol === "https:" || u.protocol === "http:") && u.host.length > 0;
    } catch {
      return false;
    }
  }, "must be an http(s) URL");

/**
 * The whole mass-assignment defence: a strict object of three plain strings. Anything else —
 * wallet, role, email, version, `$set`, `"wallet.balance"`, an own `__proto__` key from
 * JSON.parse — is an unrecognized key and the request is a 400 before any write.
 */
export const PatchMeBody = z
  .strictObject({
    displayName: z.string().trim().min(1).max(60).optional(),
    bio: z.string().max(500).optional(),
    avatarUrl: httpUrl.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, "at least one of displayName, bio, avatarUrl")
  .openapi("PatchMeRequest");

export const UserIdParam = z.object({
  id: ObjectIdSchema.openapi({ param: { name: "id", in: "path" } }),
});
