import type { WriteContext } from "../../../src/core/hooks";
import type { PluginContext } from "../../../src/core/plugin";
import type {
  Filter,
  FindOneAndUpdateOptions,
  Update,
} from "../../../src/core/ports/document-store";
import { type SanitizedUser, USER_COLLECTION, type UserDoc } from "./user";

/**
 * The hooked users collection, typed as what it really returns: the sanitize plugin turns every
 * document into a SanitizedUser, so the store's `Doc` typing would be a lie here.
 */
export interface SanitizedUsers {
  findOne(filter: Filter): Promise<SanitizedUser | null>;
  insertOne(doc: NewUserDoc): Promise<SanitizedUser>;
  findOneAndUpdate(
    filter: Filter,
    update: Update,
    options?: FindOneAndUpdateOptions,
  ): Promise<SanitizedUser | null>;
}

/** What a plugin writes on insert; `version`, `createdAt`, `updatedAt` belong to the versioning plugin. */
export type NewUserDoc = Omit<UserDoc, "_id" | "version" | "createdAt" | "updatedAt">;

export function sanitizedUsers(ctx: PluginContext, write?: WriteContext): SanitizedUsers {
  return ctx.repo.collection(USER_COLLECTION, write ? { write } : {}) as unknown as SanitizedUsers;
}

/** Raw documents, secrets included: login and the balance protocol's internals only. */
export function rawUsers(ctx: PluginContext) {
  return ctx.repo.collection<UserDoc>(USER_COLLECTION, { hooks: false });
}

export function newUserDoc(input: {
  email: string;
  username: string;
  passwordHash: string;
  role: "user" | "admin";
}): NewUserDoc {
  return {
    email: input.email,
    username: input.username,
    passwordHash: input.passwordHash,
    role: input.role,
    displayName: input.username,
    bio: "",
    avatarUrl: "",
    wallet: { balance: 0, currency: "USD" },
    refreshTokens: [],
    authLogs: [],
  };
}
