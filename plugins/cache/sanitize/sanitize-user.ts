import { toApiDoc } from "../../../src/domain/api-doc";
import type { SanitizedUser } from "../../features/users";

/** SPEC §2: never in Redis, a response or an event. `pendingOps`/`fencedOps`/`ledgerOutbox` are ledger bookkeeping. */
export const DEFAULT_SENSITIVE_FIELDS = [
  "passwordHash",
  "refreshTokens",
  "authLogs",
  "verificationCode",
  "twoFA",
  "pendingOps",
  "fencedOps",
  "ledgerOutbox",
] as const;

export type UserSanitizer = (doc: Record<string, unknown>) => SanitizedUser;

/**
 * Builds the one function that turns a stored user (raw `_id`, Dates) or an already sanitized
 * one into the API shape: `id` hex string, ISO dates, no sensitive field. Idempotent, so the
 * outer sanitize hook can run it again on a cache hit safely.
 */
export function createUserSanitizer(extra: readonly string[] = []): UserSanitizer {
  const hidden = new Set<string>([...DEFAULT_SENSITIVE_FIELDS, ...extra]);
  return (doc) => toApiDoc(doc, hidden) as SanitizedUser;
}
