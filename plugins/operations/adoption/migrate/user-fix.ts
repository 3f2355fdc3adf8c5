import { readBalance, toMinorUnits } from "../balance-value";
import type { CheckId } from "../doctor/checks";

/** The changes the migration makes to one user document, guarded by what it read. */
export interface UserFix {
  steps: ("version" | "wallet" | "balance" | "email" | "username")[];
  /** Extra filter fields: the change applies only to the document it was computed from. */
  guard: Record<string, unknown>;
  set: Record<string, unknown>;
}

export interface Refusal {
  check: CheckId;
  id: string;
  detail: string;
}

/**
 * Every change a user document needs, as one `$set` guarded by what was read (the version, or
 * its absence, and the email), plus what must be left for a decision. One write per user: a
 * concurrent API write moves the version, the guarded write misses, and the document is planned
 * again from a fresh read — never a lost update.
 */
export function planUserFix(
  doc: Record<string, unknown>,
  opts: {
    currencyScale?: number;
    duplicateEmails: ReadonlySet<string>;
    duplicateUsernames: ReadonlySet<string>;
  },
): { fix: UserFix | null; refusals: Refusal[] } {
  const id = String(doc._id);
  const refusals: Refusal[] = [];
  const steps: UserFix["steps"] = [];
  const set: Record<string, unknown> = {};
  let guard: Record<string, unknown>;
  if (doc.version === undefined || doc.version === null) {
    // The versioning hook bumps it to 1 in the same update ($inc on a missing field).
    steps.push("version");
    guard = { version: { $exists: false } };
  } else if (Number.isSafeInteger(doc.version)) guard = { version: doc.version };
  else {
    refusals.push({
      check: "user.version.missing",
      id,
      detail: `version is ${JSON.stringify(doc.version)}`,
    });
    return { fix: null, refusals };
  }

  const wallet = doc.wallet as Record<string, unknown> | undefined;
  const balance = readBalance(wallet && typeof wallet === "object" ? wallet.balance : undefined);
  if (!wallet || typeof wallet !== "object") {
    steps.push("wallet");
    set.wallet = { balance: 0, currency: "USD" };
  } else if (balance.kind === "missing") {
    steps.push("wallet");
    set["wallet.balance"] = 0;
  } else if (balance.kind === "minor" && balance.minor < 0)
    // Its opening entry records it as it is (the ledger then sums to it); settling is a decision.
    refusals.push({
      check: "user.balance.negative",
      id,
      detail: `balance ${balance.minor}: settle it (debits are refused below zero)`,
    });
  else if (balance.kind === "invalid")
    refusals.push({ check: "user.balance.not-integer", id, detail: `balance ${balance.shown}` });
  else if (balance.kind === "major") {
    const minor = opts.currencyScale ? toMinorUnits(balance.decimal, opts.currencyScale) : null;
    if (!opts.currencyScale)
      refusals.push({
        check: "user.balance.not-integer",
        id,
        detail: `balance ${balance.decimal}: pass --currency-scale to convert`,
      });
    else if (minor === null)
      refusals.push({
        check: "user.balance.ambiguous",
        id,
        detail: `balance ${balance.decimal} is not exact at scale ${opts.currencyScale}`,
      });
    else {
      steps.push("balance");
      set["wallet.balance"] = minor;
    }
  }

  // Lower-cased unless another account holds the same value case-insensitively.
  for (const [field, duplicates] of [
    ["email", opts.duplicateEmails],
    ["username", opts.duplicateUsernames],
  ] as const) {
    const value = doc[field];
    if (typeof value !== "string" || value === value.toLowerCase()) continue;
    if (duplicates.has(value.toLowerCase())) {
      refusals.push({
        check: `user.${field}.duplicate`,
        id,
        detail: `${value} collides case-insensitively`,
      });
      continue;
    }
    steps.push(field);
    set[field] = value.toLowerCase();
    guard = { ...guard, [field]: value };
  }
  return { fix: steps.length ? { steps, guard, set } : null, refusals };
}
