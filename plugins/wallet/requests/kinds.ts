import type { ObjectId } from "bson";
import { DEPOSITS_COLLECTION, WITHDRAWALS_COLLECTION } from "../collections";

export type RequestStatus = "pending" | "approving" | "approved" | "rejected";

/** A deposit or withdrawal request as stored. */
export interface MoneyRequest {
  _id: ObjectId;
  [field: string]: unknown;
  userId: ObjectId;
  amount: number;
  status: RequestStatus;
  createdAt: Date;
  updatedAt: Date;
  /** Set when an admin claims the approval; the legs below use these, so recovery can replay them. */
  approvedBy?: ObjectId;
  approvedAmount?: number;
  approvingAt?: Date;
}

/** A request an admin has claimed: the approver and amount its legs replay from. */
export type Claimed = MoneyRequest & { approvedBy: ObjectId; approvedAmount: number };

export interface Leg {
  userId: ObjectId;
  amount: number;
  opId: string;
  reason: string;
}

/**
 * What approving means per kind. The debit always runs first: if it cannot be paid, nothing
 * has been credited yet and the claim is simply rolled back.
 */
export interface RequestKind {
  name: "deposit" | "withdrawal";
  collection: string;
  legs(req: Claimed): {
    debit: Leg;
    credit: Leg;
  };
}

export const DEPOSIT: RequestKind = {
  name: "deposit",
  collection: DEPOSITS_COLLECTION,
  legs(r) {
    const id = r._id.toHexString();
    return {
      debit: {
        userId: r.approvedBy,
        amount: -r.approvedAmount,
        opId: `deposit:${id}:debit`,
        reason: `deposit approval #${id} (admin deduction)`,
      },
      credit: {
        userId: r.userId,
        amount: r.approvedAmount,
        opId: `deposit:${id}:credit`,
        reason: `deposit approval #${id}`,
      },
    };
  },
};

export const WITHDRAWAL: RequestKind = {
  name: "withdrawal",
  collection: WITHDRAWALS_COLLECTION,
  legs(r) {
    const id = r._id.toHexString();
    return {
      debit: {
        userId: r.userId,
        amount: -r.approvedAmount,
        opId: `withdrawal:${id}:debit`,
        reason: `withdrawal approval #${id}`,
      },
      credit: {
        userId: r.approvedBy,
        amount: r.approvedAmount,
        opId: `withdrawal:${id}:credit`,
        reason: `withdrawal approval #${id} (admin credit)`,
      },
    };
  },
};
