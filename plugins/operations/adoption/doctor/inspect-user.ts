import { createUserSanitizer } from "../../../cache/sanitize/sanitize-user";
import { readBalance } from "../balance-value";
import type { CheckId } from "./checks";
import { exposedSensitiveFields } from "./exposed-fields";

/** One problem found on one document. */
export interface Finding {
  check: CheckId;
  collection: string;
  id: string;
  detail?: string;
}

/** Hash formats Bun.password.verify (the login) accepts. */
const VERIFIABLE_HASH = /^\$(2[aby]\$\d\d\$|argon2(id|i|d)\$)/;
/** A user document as the API would show it: the one sanitizer every response goes through. */
export type UserView = (doc: Record<string, unknown>) => Record<string, unknown>;

/**
 * The checks that need one user document alone. Cross-document checks (duplicates, ledger sums)
 * are the scan's.
 */
export function inspectUser(doc: Record<string, unknown>, view: UserView): Finding[] {
  const id = String(doc._id);
  const out: Finding[] = [];
  const add = (check: CheckId, detail?: string) =>
    out.push({ check, collection: "users", id, ...(detail ? { detail } : {}) });

  if (!Number.isSafeInteger(doc.version)) add("user.version.missing");
  const wallet = doc.wallet as Record<string, unknown> | undefined;
  if (!wallet || typeof wallet !== "object") add("user.wallet.missing");
  else {
    const b = readBalance(wallet.balance);
    if (b.kind === "minor" && b.minor < 0) add("user.balance.negative", String(b.minor));
    if (b.kind === "major") add("user.balance.not-integer", b.decimal);
    if (b.kind === "invalid" || b.kind === "missing")
      add("user.balance.not-integer", b.kind === "invalid" ? b.shown : "missing");
  }
  if (typeof doc.email === "string" && doc.email !== doc.email.toLowerCase())
    add("user.email.not-lowercase", doc.email);
  if (typeof doc.username === "string" && doc.username !== doc.username.toLowerCase())
    add("user.username.not-lowercase", doc.username);
  if (typeof doc.passwordHash !== "string" || !VERIFIABLE_HASH.test(doc.passwordHash))
    add(
      "user.password.unverifiable",
      typeof doc.passwordHash === "string" ? doc.passwordHash.slice(0, 8) : "missing",
    );
  // Asked of the sanitizer's output, not of a copy of its list: what it leaves is what leaks.
  for (const field of exposedSensitiveFields(view(doc)))
    add(field.kind === "secret" ? "user.field.sensitive-name" : "user.field.code-name", field.path);
  return out;
}

/**
 * The sanitizer of this deployment (the defaults plus `SENSITIVE_FIELDS`), the same function the
 * API's responses, the cache and the events go through.
 */
export function userView(extra: readonly string[]): UserView {
  const sanitize = createUserSanitizer(extra);
  return (doc) => sanitize(doc) as unknown as Record<string, unknown>;
}
