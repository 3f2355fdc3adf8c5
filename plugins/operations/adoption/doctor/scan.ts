import type { ObjectId } from "bson";
import type { DocumentStore, IndexSpec } from "../../../../src/core/ports/document-store";
import { USER_COLLECTION, USER_INDEXES } from "../../../features/users";
import {
  DEPOSITS_COLLECTION,
  WALLET_INDEXES,
  WITHDRAWALS_COLLECTION,
} from "../../../features/wallet";
import { readBalance } from "../balance-value";
import { inBatches } from "../batches";
import { ledgerSettled, ledgerSums } from "../ledger-sum";
import { CHECK_IDS, CHECKS, type CheckId, type Severity } from "./checks";
import { type Finding, inspectUser, userView } from "./inspect-user";

export interface CheckSummary {
  id: CheckId;
  severity: Severity;
  fix: "migrate" | "manual";
  title: string;
  count: number;
  /** Up to five affected document ids (or index names). */
  samples: string[];
}

export interface DoctorReport {
  /** False when a blocking problem was found: `bun run doctor` exits non-zero. */
  ok: boolean;
  scanned: { users: number; requests: number };
  /** Every check, found or not, in catalogue order. */
  checks: CheckSummary[];
  /** One row per affected document, in scan order, at most `maxFindings`. */
  findings: Finding[];
  truncated: boolean;
}

export interface DoctorOptions {
  /** Extra sensitive fields (`SENSITIVE_FIELDS`). */
  sensitive?: readonly string[];
  batchSize?: number;
  maxFindings?: number;
}

/** Indexes the service's correctness rests on: duplicates refused atomically, opIds once. */
export const REQUIRED_UNIQUE_INDEXES: readonly IndexSpec[] = [
  ...USER_INDEXES,
  ...WALLET_INDEXES,
].filter((i) => i.unique);

/**
 * Read-only: scans the collections cachesync owns and reports everything that does not fit
 * SPEC §3. Memory grows with the number of distinct emails and usernames (the case-insensitive
 * duplicate check), not with the documents scanned.
 */
export async function runDoctor(
  db: DocumentStore,
  opts: DoctorOptions = {},
): Promise<DoctorReport> {
  const batchSize = opts.batchSize ?? 500;
  const maxFindings = opts.maxFindings ?? 10_000;
  const view = userView(opts.sensitive ?? []);
  const counts = new Map<CheckId, number>();
  const samples = new Map<CheckId, string[]>();
  const findings: Finding[] = [];
  let truncated = false;
  const report = (f: Finding) => {
    counts.set(f.check, (counts.get(f.check) ?? 0) + 1);
    const s = samples.get(f.check) ?? [];
    if (s.length < 5) samples.set(f.check, [...s, f.id]);
    if (findings.length < maxFindings) findings.push(f);
    else truncated = true;
  };

  for (const spec of REQUIRED_UNIQUE_INDEXES) {
    const present = await db.listIndexes(spec.collection);
    const wanted = JSON.stringify(spec.key);
    if (!present.some((i) => i.unique && JSON.stringify(i.key) === wanted))
      report({
        check: "index.missing",
        collection: spec.collection,
        id: spec.name ?? wanted,
        detail: `unique ${wanted}`,
      });
  }

  const emails = new Map<string, string>();
  const usernames = new Map<string, string>();
  const duplicate = (seen: Map<string, string>, key: string, id: string, check: CheckId) => {
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, id);
      return;
    }
    // The first holder is reported once, with the first collision; later ones each add themselves.
    if (first !== "") report({ check, collection: USER_COLLECTION, id: first, detail: key });
    seen.set(key, "");
    report({ check, collection: USER_COLLECTION, id, detail: key });
  };

  let users = 0;
  for await (const batch of inBatches(db.collection(USER_COLLECTION), batchSize)) {
    users += batch.length;
    const sums = await ledgerSums(
      db,
      batch.map((u) => u._id as ObjectId),
    );
    for (const doc of batch) {
      const id = doc._id.toHexString();
      for (const f of inspectUser(doc, view)) report(f);
      if (typeof doc.email === "string")
        duplicate(emails, doc.email.toLowerCase(), id, "user.email.duplicate");
      if (typeof doc.username === "string")
        duplicate(usernames, doc.username.toLowerCase(), id, "user.username.duplicate");
      const balance = readBalance((doc.wallet as { balance?: unknown } | undefined)?.balance);
      if (balance.kind !== "minor" && balance.kind !== "missing") continue;
      const held = balance.kind === "minor" ? balance.minor : 0;
      if (!ledgerSettled(doc, sums)) {
        report({ check: "user.ledger.in-flight", collection: USER_COLLECTION, id });
        continue;
      }
      const sum = sums.applied.get(id) ?? 0;
      if (sum !== held)
        report({
          check: "user.ledger.mismatch",
          collection: USER_COLLECTION,
          id,
          detail: `balance ${held}, ledger ${sum}`,
        });
    }
  }

  let requests = 0;
  for (const collection of [DEPOSITS_COLLECTION, WITHDRAWALS_COLLECTION]) {
    const open = db.collection(collection);
    for await (const batch of inBatches(open, batchSize, {
      filter: { status: { $nin: ["approved", "rejected"] } },
      projection: { status: 1 },
    })) {
      requests += batch.length;
      for (const r of batch)
        report({
          check: r.status === "pending" ? "request.pending" : "request.approving",
          collection,
          id: r._id.toHexString(),
          detail: String(r.status),
        });
    }
  }

  const checks = CHECK_IDS.map((id) => ({
    id,
    ...CHECKS[id],
    count: counts.get(id) ?? 0,
    samples: samples.get(id) ?? [],
  }));
  return {
    ok: !checks.some((c) => c.severity === "blocking" && c.count > 0),
    scanned: { users, requests },
    checks,
    findings,
    truncated,
  };
}
