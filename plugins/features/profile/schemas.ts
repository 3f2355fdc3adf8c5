import { z } from "@hono/zod-openapi";
import { envelope, ObjectIdSchema, UserSchema } from "../../../src/domain/schemas";
import { ListingSchema } from "../listings";

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

// C0/C1 controls, and the bidi overrides, isolates and marks that make text render as something
// it is not (U+202E turns "gpj.exe" into what reads as "exe.jpg"). Newline and tab are allowed
// where text is multi-line.
const CONTROL = /\p{Cc}/u;
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const MULTI_LINE_OK = /[\n\t]/g;
const plainText = (multiLine: boolean) => (v: string) =>
  !BIDI.test(v) && !CONTROL.test(multiLine ? v.replace(MULTI_LINE_OK, "") : v);

/**
 * The one stored form of an avatar URL: http(s) only, no credentials, no control characters
 * (the URL parser would silently drop them), serialised by the URL parser so anything unsafe in
 * an attribute or a path (spaces, quotes, angle brackets) is percent-encoded. null: refused.
 */
export function normaliseHttpUrl(v: string): string | null {
  if (CONTROL.test(v) || BIDI.test(v)) return null;
  try {
    const u = new URL(v);
    if (u.protocol !== "https:" && u.protocol !== "http:") return null;
    if (u.hostname.length === 0 || u.username !== "" || u.password !== "") return null;
    return u.href.length <= 2048 ? u.href : null;
  } catch {
    return null;
  }
}

const httpUrl = z
  .string()
  .trim()
  .max(2048)
  .refine(
    (v) => v === "" || normaliseHttpUrl(v) !== null, // "" clears the avatar
    "must be an http(s) URL without credentials or control characters",
  )
  .overwrite((v) => (v === "" ? "" : (normaliseHttpUrl(v) ?? v)));

/**
 * The whole mass-assignment defence: a strict object of three plain strings. Anything else —
 * wallet, role, email, version, `$set`, `"wallet.balance"`, an own `__proto__` key from
 * JSON.parse — is an unrecognized key and the request is a 400 before any write.
 */
export const PatchMeBody = z
  .strictObject({
    displayName: z
      .string()
      .trim()
      .min(1)
      .max(60)
      .refine(plainText(false), "no control or bidi characters")
      .optional(),
    bio: z.string().max(500).refine(plainText(true), "no control or bidi characters").optional(),
    avatarUrl: httpUrl.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, "at least one of displayName, bio, avatarUrl")
  .openapi("PatchMeRequest");

export const UserIdParam = z.object({
  id: ObjectIdSchema.openapi({ param: { name: "id", in: "path" } }),
});
