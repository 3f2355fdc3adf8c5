/**
 * Everything the doctor can report, defined once: the CLI, the admin route and the migration's
 * summary all name problems by these ids. `fix` says who can fix it: `migrate` (bun run migrate
 * does, idempotently) or `manual` (the operator decides; the migration reports and leaves it).
 */
export const CHECKS = {
  "index.missing": {
    severity: "blocking",
    fix: "migrate",
    title: "a unique index the service relies on is missing",
  },
  "user.version.missing": {
    severity: "blocking",
    fix: "migrate",
    title: "users without a numeric `version` (cache writes are ordered by it)",
  },
  "user.wallet.missing": {
    severity: "blocking",
    fix: "migrate",
    title: "users without a `wallet` sub-document",
  },
  "user.balance.not-integer": {
    severity: "blocking",
    fix: "migrate",
    title:
      "balances that are not integers in minor units (floats, strings, Decimal128); converted only with --currency-scale",
  },
  "user.balance.ambiguous": {
    severity: "blocking",
    fix: "manual",
    title:
      "balances that cannot be converted exactly at the given --currency-scale (never rounded)",
  },
  "user.balance.negative": {
    severity: "blocking",
    fix: "manual",
    title: "negative balances (debits are refused below zero; decide how to settle them)",
  },
  "user.ledger.mismatch": {
    severity: "blocking",
    fix: "migrate",
    title: "ledger entries do not sum to the balance (an opening-balance entry closes the gap)",
  },
  "user.ledger.in-flight": {
    severity: "info",
    fix: "manual",
    title: "balance operations in flight while scanning (not compared; re-run to check them)",
  },
  "user.email.not-lowercase": {
    severity: "blocking",
    fix: "migrate",
    title: "emails not lower-cased (login looks emails up lower-cased)",
  },
  "user.email.duplicate": {
    severity: "blocking",
    fix: "manual",
    title: "emails that collide case-insensitively (merge or rename the accounts first)",
  },
  "user.username.not-lowercase": {
    severity: "blocking",
    fix: "migrate",
    title:
      "usernames not lower-cased (usernames are unique case-insensitively, stored lower-cased)",
  },
  "user.username.duplicate": {
    severity: "warning",
    fix: "manual",
    title: "usernames that collide case-insensitively",
  },
  "user.password.unverifiable": {
    severity: "warning",
    fix: "manual",
    title:
      "password hashes login cannot verify (only bcrypt $2a/$2b/$2y and argon2): these users must reset",
  },
  "user.field.sensitive-name": {
    severity: "blocking",
    fix: "manual",
    title:
      "fields whose name looks secret (*token*, *secret*, *password*), at any depth (reported by dotted path), that the sanitizer lets through: they are cached and returned",
  },
  "user.field.code-name": {
    severity: "warning",
    fix: "manual",
    title:
      "fields named *code*, at any depth, that the sanitizer lets through (a verification code would be cached)",
  },
  "request.approving": {
    severity: "warning",
    fix: "manual",
    title: "deposit/withdrawal requests stuck in `approving` (the periodic recovery settles them)",
  },
  "request.pending": {
    severity: "info",
    fix: "manual",
    title: "deposit/withdrawal requests waiting for an admin (`pending`)",
  },
} as const;

export type CheckId = keyof typeof CHECKS;
export type Severity = (typeof CHECKS)[CheckId]["severity"];
export const CHECK_IDS = Object.keys(CHECKS) as CheckId[];
