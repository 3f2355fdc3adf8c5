import type { ObjectId } from "bson";

/**
 * `pending`: the intent of an op whose opId came from the caller (the unique opId makes the insert
 * the gate against a retry), not yet drained. `applied`: written by the drain from the user's
 * outbox. `void`: an opId that must never apply, written where the op would otherwise start (an
 * approval whose account vanished voids its legs). Only `applied` is part of a balance.
 */
export type LedgerStatus = "pending" | "applied" | "void";

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
  /** Set by the old protocol's recovery when balanceAfter is the balance then, not right after the op. */
  recovered?: boolean;
}

/** One balance change: who, how much, why, under which exactly-once id. */
export interface Op {
  opId: string;
  userId: ObjectId;
  amount: number;
  reason: string;
}

/** A landed op not yet in the ledger collection, kept in the user document (`ledgerOutbox`). */
export interface OutboxEntry {
  opId: string;
  amount: number;
  reason: string;
  at: Date;
}

export interface BalanceOptions {
  /** Pending entries younger than this belong to a live request; only older ones are recovered. */
  graceMs: number;
  /** How long a duplicate opId waits for the in-flight original before answering 409. */
  waitMs: number;
}
