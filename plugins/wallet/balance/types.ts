import type { ObjectId } from "bson";

/**
 * `void`: an opId that must never apply, written where the op would otherwise start (the unique
 * opId makes it a gate). An approval whose account vanished voids its legs before it ends, so a
 * stalled approver cannot move money for it afterwards. Never part of a balance.
 */
export type LedgerStatus = "pending" | "applied" | "void";

/**
 * A balance change. Inserted as "pending" (the intent) before the user document changes; the
 * unique opId makes the insert the exactly-once gate for retries.
 */
export interface LedgerEntry {
  _id: ObjectId;
  [field: string]: unknown;
  opId: string;
  userId: ObjectId;
  amount: number;
  reason: string;
  status: LedgerStatus;
  createdAt: Date;
  balanceAfter?: number;
  appliedAt?: Date;
  /** Set when recovery marked an op someone else applied: balanceAfter is the balance then, not right after the op. */
  recovered?: boolean;
}

export interface BalanceOptions {
  /** Pending entries younger than this belong to a live request; only older ones are recovered. */
  graceMs: number;
  /** How long a duplicate opId waits for the in-flight original before answering 409. */
  waitMs: number;
}
