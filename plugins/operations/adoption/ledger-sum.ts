import type { ObjectId } from "bson";
import type { DocumentStore } from "../../../src/core/ports/document-store";
import { LEDGER_COLLECTION } from "../../features/wallet";

export interface LedgerSums {
  /** Sum of applied entries per user (hex id). */
  applied: Map<string, number>;
  /** opIds of applied entries, to tell a settled `pendingOps` marker from one in flight. */
  appliedOps: Set<string>;
  /** Users with an entry still `pending`: a balance change in flight (or awaiting recovery). */
  inFlight: Set<string>;
  /** Users that already have their opening-balance entry. */
  opened: Set<string>;
}

export const openingOpId = (userId: string) => `opening:${userId}`;

/** One query for a batch of users: what their ledgers add up to, and what is still moving. */
export async function ledgerSums(
  db: DocumentStore,
  userIds: readonly ObjectId[],
): Promise<LedgerSums> {
  const entries = await db
    .collection(LEDGER_COLLECTION)
    .find(
      { userId: { $in: userIds } },
      { projection: { userId: 1, amount: 1, status: 1, opId: 1 } },
    );
  const sums: LedgerSums = {
    applied: new Map(),
    appliedOps: new Set(),
    inFlight: new Set(),
    opened: new Set(),
  };
  for (const e of entries) {
    const user = String(e.userId);
    if (e.opId === openingOpId(user)) sums.opened.add(user);
    // "void" entries (a leg cancelled for a vanished account) never moved money.
    if (e.status === "pending") sums.inFlight.add(user);
    if (e.status !== "applied") continue;
    sums.appliedOps.add(String(e.opId));
    sums.applied.set(user, (sums.applied.get(user) ?? 0) + Number(e.amount));
  }
  return sums;
}

/**
 * Whether a user's balance can be compared with the ledger read alongside it: every op the user
 * document carries in `pendingOps` must already be applied in that ledger read (fenced ops keep
 * their marker for good, so a non-empty list alone means nothing), and no entry may be pending.
 */
export function ledgerSettled(
  user: { _id: ObjectId; pendingOps?: unknown },
  sums: LedgerSums,
): boolean {
  const id = user._id.toHexString();
  if (sums.inFlight.has(id)) return false;
  const pending = Array.isArray(user.pendingOps) ? user.pendingOps : [];
  return pending.every((op) => sums.appliedOps.has(String(op)));
}
