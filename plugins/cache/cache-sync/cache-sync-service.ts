import type { Update } from "../../../src/core/ports/document-store";
import type { SanitizedUser } from "../../features/users";

export type ConsistencyReport =
  | { consistent: true }
  | { consistent: false; action: "fixed"; difference: number };

export interface BalanceChange {
  /** Unique operation id (`deposit:<id>:credit`); a retry with the same id applies once. */
  opId?: string;
}

export interface BalanceResult {
  user: SanitizedUser;
  /** false when `opId` had already been applied (the retry was a no-op). */
  applied: boolean;
  balanceAfter: number;
}

/** SPEC §2, the library API. Implemented by plugins/cache/cache-sync on top of the hooked repository. */
export interface CacheSyncService {
  /** Cache-aside read. null for an unknown (or malformed) id; never throws for "not found". */
  getUserWithSync(userId: string): Promise<SanitizedUser | null>;
  /** Same, looked up by email through the email index key. */
  getUserByEmailWithSync(email: string): Promise<SanitizedUser | null>;
  /**
   * Write-through update: applies the MongoDB update document, writes the sanitized result to
   * Redis, publishes `userDataUpdated`. null when the user does not exist.
   */
  updateUserWithSync(
    userId: string,
    updates: Update,
    meta?: { reason?: string },
  ): Promise<SanitizedUser | null>;
  /**
   * Atomic `$inc` of `wallet.balance` (negative = debit, guarded against going below zero) with a
   * ledger entry. Throws 409 INSUFFICIENT_FUNDS (nothing changed), 404 for an unknown user.
   */
  updateBalanceWithSync(
    userId: string,
    amount: number,
    reason: string,
    change?: BalanceChange,
  ): Promise<BalanceResult>;
  validateCacheConsistency(userId: string): Promise<ConsistencyReport>;
  invalidateUserCache(userId: string, email?: string): Promise<void>;
  /** Rebuilds the entry from MongoDB; null when the user does not exist. */
  syncUser(userId: string): Promise<SanitizedUser | null>;
  /** Pipelined rebuild of many users with bounded concurrency. */
  bulkSync(
    userIds: readonly string[],
  ): Promise<{ succeeded: number; failed: number; total: number }>;
  /** Keys Redis missed during an outage, repaired now; returns how many were repaired. */
  repairPending(): Promise<number>;
}

/** Exactly-once balance changes with a ledger; provided by plugins/features/wallet as `ctx.use("balance")`. */
export interface BalanceService {
  apply(
    userId: string,
    amount: number,
    reason: string,
    change?: BalanceChange,
  ): Promise<BalanceResult>;
}

declare module "../../../src/core/plugin" {
  interface Services {
    balance: BalanceService;
  }
}
