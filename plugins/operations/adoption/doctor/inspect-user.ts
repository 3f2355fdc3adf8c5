import { DEFAULT_SENSITIVE_FIELDS } from "../../../cache/sanitize/sanitize-user";
import { readBalance } from "../balance-value";
import type { CheckId } from "./checks";

/** One problem found on one document. */
export interface Finding {
  check: CheckId;
  collection: string;
  id: string;
  detail?: string;
}

/** Hash formats Bun.password.verify (the login) accepts. */
const VERIFIABLE_HASH = /^\$(2[aby]\$\d\d\$|argon2(id|i|d)\$)/;
const SECRET_NAME = /token|secret|passw/i;
const CODE_NAME = /code/i;
/** Stored by cachesync itself and harmless, though their names match the patterns above. */
const OWN_FIELDS = new Set(["tokenVersion"]);

/**
 * The checks that need one user document alone. Cross-document checks (duplicates, ledger sums)
 * are the scan's.
 */
export function inspectUser(
  doc: Record<string, unknown>,
  sensitive: ReadonlySet<string>,
): Finding[] {
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
  for (const field of Object.keys(doc)) {
    if (sensitive.has(field) || OWN_FIELDS.has(field)) continue;
    if (SECRET_NAME.test(field)) add("user.field.sensitive-name", field);
    else if (CODE_NAME.test(field)) add("user.field.code-name", field);
  }
  return out;
}

/** The fields never cached or returned in this deployment: the defaults plus SENSITIVE_FIELDS. */
export function sensitiveFields(extra: readonly string[]): ReadonlySet<string> {
  return new Set([...DEFAULT_SENSITIVE_FIELDS, ...extra]);
}
