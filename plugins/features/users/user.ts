import type { ObjectId } from "bson";

export type Role = "user" | "admin";

export interface Wallet {
  /** Integer, minor units (cents). Never negative. */
  balance: number;
  currency: string;
}

/** A user as stored in MongoDB (SPEC §3), secrets included. */
export interface UserDoc {
  _id: ObjectId;
  [field: string]: unknown;
  email: string;
  username: string;
  passwordHash: string;
  role: Role;
  displayName: string;
  bio: string;
  avatarUrl: string;
  wallet: Wallet;
  refreshTokens: unknown[];
  authLogs: unknown[];
  verificationCode?: string | null;
  twoFA?: unknown;
  /** Bumped by every write in the same update (the versioning plugin does it). */
  version: number;
  /** Session generation: tokens carry it, logout increments it (absent = 0). */
  tokenVersion?: number;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * The user as it may leave the repository (cache, responses, events): no secrets, `id` as a
 * hex string instead of `_id`, dates as ISO strings (what JSON round-trips through Redis).
 */
export interface SanitizedUser {
  id: string;
  email: string;
  username: string;
  role: Role;
  displayName: string;
  bio: string;
  avatarUrl: string;
  wallet: Wallet;
  version: number;
  /** Not a secret: it only lets the cache refuse revoked tokens (see plugins/features/auth/sessions). */
  tokenVersion?: number;
  createdAt: string;
  updatedAt: string;
  [field: string]: unknown;
}

/** `GET /users/:id`: what anyone may see of someone else. */
export interface PublicUser {
  id: string;
  username: string;
  displayName: string;
  bio: string;
  avatarUrl: string;
  role: Role;
  createdAt: string;
}

export function toPublicUser(u: SanitizedUser): PublicUser {
  return {
    id: u.id,
    username: u.username,
    displayName: u.displayName,
    bio: u.bio,
    avatarUrl: u.avatarUrl,
    role: u.role,
    createdAt: u.createdAt,
  };
}

export const USER_COLLECTION = "users";
