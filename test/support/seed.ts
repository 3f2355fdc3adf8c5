import { ObjectId } from "bson";
import type { SanitizedUser } from "../../plugins/features/users";
import type { PluginContext } from "../../src/core/plugin";

let n = 0;

/**
 * Inserts a user with every secret field filled, through the hooked repository (so versioning,
 * write-through and events apply as for a registration). Returns the sanitized user.
 */
export async function seedUser(
  ctx: PluginContext,
  over: Record<string, unknown> = {},
): Promise<SanitizedUser> {
  const tag = `${Date.now().toString(36)}${(n++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const user = await ctx.repo.collection("users").insertOne({
    _id: new ObjectId(),
    email: `u${tag}@example.com`,
    username: `u${tag}`,
    passwordHash: "$argon2id$v=19$not-a-real-hash",
    role: "user",
    displayName: `User ${tag}`,
    bio: "",
    avatarUrl: "",
    wallet: { balance: 0, currency: "USD" },
    refreshTokens: ["refresh-secret"],
    authLogs: [{ at: new Date(), ip: "127.0.0.1" }],
    verificationCode: "123456",
    twoFA: { secret: "totp-secret" },
    ...over,
  });
  return user as unknown as SanitizedUser;
}

/** Field names that must never appear in Redis, a response or an event. */
export const SECRET_FIELDS = [
  "passwordHash",
  "refreshTokens",
  "authLogs",
  "verificationCode",
  "twoFA",
  "pendingOps",
  "fencedOps",
  "ledgerOutbox",
  // listings (plugins/features/listings/collection.ts): declared sensitive
  "internalNotes",
];

/**
 * Inserts a listing through the hooked repository (versioned, written through), with a secret
 * `internalNotes` that must never reach Redis, a response or an event. Returns the stored
 * document (`_id`, version 1).
 */
export async function seedListing(
  ctx: PluginContext,
  over: Record<string, unknown> = {},
): Promise<{ _id: ObjectId; id: string; version: number; title: string }> {
  const doc = (await ctx.repo.collection("listings").insertOne({
    _id: new ObjectId(),
    userId: new ObjectId(),
    title: `listing ${(n++).toString(36)}`,
    price: 1000,
    internalNotes: "moderation: seller under review",
    createdAt: new Date(),
    ...over,
  })) as unknown as { _id: ObjectId; version: number; title: string };
  return { ...doc, id: doc._id.toHexString() };
}
