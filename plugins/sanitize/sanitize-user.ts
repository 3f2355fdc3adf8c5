import type { SanitizedUser } from "../../src/domain/user";

/** SPEC §2: never in Redis, a response or an event. `pendingOps`/`fencedOps` are ledger bookkeeping. */
export const DEFAULT_SENSITIVE_FIELDS = [
  "passwordHash",
  "refreshTokens",
  "authLogs",
  "verificationCode",
  "twoFA",
  "pendingOps",
  "fencedOps",
] as const;

export type UserSanitizer = (doc: Record<string, unknown>) => SanitizedUser;

const isoDate = (v: unknown) => (v instanceof Date ? v.toISOString() : v);

/**
 * Builds the one function that turns a stored user (raw `_id`, Dates) or an already sanitized
 * one into the API shape: `id` hex string, ISO dates, no sensitive field. Idempotent, so the
 * outer sanitize hook can run it again on a cache hit safely.
 */
export function createUserSanitizer(extra: readonly string[] = []): UserSanitizer {
  const hidden = new Set<string>([...DEFAULT_SENSITIVE_FIELDS, ...extra, "_id"]);
  return (doc) => {
    const out: Record<string, unknown> = {};
    const id = doc._id ?? doc.id;
    out.id = typeof id === "string" ? id : String(id);
    for (const key in doc) {
      if (hidden.has(key) || key === "id") continue;
      out[key] = isoDate(doc[key]);
    }
    return out as SanitizedUser;
  };
}
