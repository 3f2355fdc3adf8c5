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
  /**
   * How many claims were undone after their debit landed (and was refunded): each attempt's legs
   * have their own opIds, so a later approval never reuses a landed (then refunded) leg's opId.
   */
  attempt?: number;
  /** Set while an attempt is being undone (debit refunded, back to pending): a replay finishes it. */
  undoing?: string;
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

/** `<id>` for the first attempt (the opIds everyone knows), `<id>:<n>` after n undone ones. */
export const attemptTag = (r: MoneyRequest) =>
  r.attempt ? `${r._id.toHexString()}:${r.attempt}` : r._id.toHexString();

/** The refund of an attempt's landed debit (account gone, or the credit's balance not migrated). */
export const refundOpId = (kind: RequestKind, r: MoneyRequest) =>
  `${kind.name}:${attemptTag(r)}:refund`;

/** The claim leaves approvedAmount unset when the admin kept the requested amount. */
export const asClaimed = (r: MoneyRequest): Claimed =>
  ({ ...r, approvedAmount: r.approvedAmount ?? r.amount }) as Claimed;

export const DEPOSIT: RequestKind = {
  name: "deposit",
  collection: DEPOSITS_COLLECTION,
  legs(r) {
    const id = r._id.toHexString();
    const tag = attemptTag(r);
    return {
      debit: {
        userId: r.approvedBy,
        amount: -r.approvedAmount,
        opId: `deposit:${tag}:debit`,
        reason: `deposit approval #${id} (admin deduction)`,
      },
      credit: {
        userId: r.userId,
        amount: r.approvedAmount,
        opId: `deposit:${tag}:credit`,
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
    const tag = attemptTag(r);
    return {
      debit: {
        userId: r.userId,
        amount: -r.approvedAmount,
        opId: `withdrawal:${tag}:debit`,
        reason: `withdrawal approval #${id}`,
      },
      credit: {
        userId: r.approvedBy,
        amount: r.approvedAmount,
        opId: `withdrawal:${tag}:credit`,
        reason: `withdrawal approval #${id} (admin credit)`,
      },
    };
  },
};
