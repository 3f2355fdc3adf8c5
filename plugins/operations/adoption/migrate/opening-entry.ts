import { ObjectId } from "bson";
import { openingOpId } from "../ledger-sum";

/**
 * The one ledger entry that makes an adopted user's ledger sum to the balance they already had.
 * Dated at the account's creation, with an `_id` from that time, so the ledger (newest first)
 * lists it last, before everything that happened since.
 */
export function openingEntry(userId: ObjectId, amount: number, createdAt: unknown) {
  const at =
    createdAt instanceof Date && !Number.isNaN(createdAt.getTime()) ? createdAt : new Date(0);
  const seconds = Math.max(0, Math.floor(at.getTime() / 1000))
    .toString(16)
    .padStart(8, "0");
  const random = Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString("hex");
  return {
    _id: new ObjectId(`${seconds}${random}`),
    opId: openingOpId(userId.toHexString()),
    userId,
    amount,
    balanceAfter: amount,
    reason: "opening balance",
    status: "applied" as const,
    createdAt: at,
    appliedAt: new Date(),
  };
}
