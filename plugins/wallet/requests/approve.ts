import type { ObjectId } from "bson";
import { appError, hasErrorCode } from "../../../src/core/errors";
import type { PluginContext } from "../../../src/core/plugin";
import { assertBalancesMigrated } from "../balance/steps";
import { type Faults, fire } from "../shared/faults";
import { ACCOUNT_GONE, endForMissingAccount, missingAccount } from "./account-gone";
import { explainShortfall } from "./funding";
import type { Claimed, MoneyRequest, RequestKind } from "./kinds";

export const requests = (ctx: PluginContext, kind: RequestKind) =>
  ctx.repo.collection<MoneyRequest>(kind.collection);

/** 404 for an unknown id, 409 INVALID_STATE when it exists but is not pending. */
async function explainMiss(ctx: PluginContext, kind: RequestKind, _id: ObjectId): Promise<never> {
  const doc = await requests(ctx, kind).findOne({ _id }, { projection: { status: 1 } });
  if (!doc) throw appError("REQUEST_NOT_FOUND", `Unknown ${kind.name} request`);
  throw appError("INVALID_STATE", `The ${kind.name} request is ${doc.status}, not pending`, {
    status: doc.status,
  });
}

/**
 * pending → approving is the one conditional write concurrent approvals race on: exactly one
 * admin's findOneAndUpdate matches, the others get INVALID_STATE. The claim records who
 * approves and how much, so the money legs can be replayed by recovery.
 */
export async function approveRequest(
  ctx: PluginContext,
  kind: RequestKind,
  _id: ObjectId,
  admin: ObjectId,
  amount: number | undefined,
  faults?: Faults,
): Promise<MoneyRequest> {
  const col = requests(ctx, kind);
  const current = await col.findOne({ _id });
  if (!current) throw appError("REQUEST_NOT_FOUND", `Unknown ${kind.name} request`);
  if (current.status === "pending") await assertBalancesMigrated(ctx, [current.userId, admin]);
  const now = new Date();
  const claimed = await col.findOneAndUpdate(
    { _id, status: "pending" },
    {
      $set: {
        status: "approving",
        approvedBy: admin,
        approvedAmount: amount ?? current.amount,
        approvingAt: now,
        updatedAt: now,
      },
    },
    { returnDocument: "after" },
  );
  if (!claimed) return explainMiss(ctx, kind, _id);
  await fire(faults, "claimed", { requestId: _id.toHexString() });
  const settled = await settleApproval(ctx, kind, claimed as Claimed, faults);
  if (settled.status === "rejected" && settled.rejectedCode === ACCOUNT_GONE) {
    throw appError(
      "ACCOUNT_GONE",
      `The ${kind.name} request was rejected: its account no longer exists, no money was moved`,
      { status: settled.status, requestId: _id.toHexString() },
    );
  }
  return settled;
}

/** An error from the balance service that says the leg's account is gone or was voided for it. */
const accountGone = (err: unknown) => hasErrorCode(err, "USER_NOT_FOUND", "OP_CANCELLED");

/**
 * The money legs and the final transition. Idempotent by opId, so recovery calls it again for
 * a request stuck in "approving". Both accounts are checked in MongoDB before anything moves;
 * an account that vanishes later (or already had) ends the request as rejected with nothing
 * moved (account-gone.ts), never a debit without its credit.
 */
export async function settleApproval(
  ctx: PluginContext,
  kind: RequestKind,
  req: Claimed,
  faults?: Faults,
): Promise<MoneyRequest> {
  const balance = ctx.use("balance");
  const legs = kind.legs(req);
  const { debit, credit } = legs;
  const requestId = req._id.toHexString();
  const finishApproved = async () => {
    const now = new Date();
    const done = await requests(ctx, kind).findOneAndUpdate(
      { _id: req._id, status: "approving" },
      { $set: { status: "approved", approvedAt: now, amount: req.approvedAmount, updatedAt: now } },
      { returnDocument: "after" },
    );
    await fire(faults, "approved", { requestId });
    // null: a concurrent recovery finished it first; report the stored outcome.
    return done ?? ((await requests(ctx, kind).findOne({ _id: req._id })) as MoneyRequest);
  };
  const end = () => endForMissingAccount(ctx, kind, req, legs, finishApproved);

  const checked = !faults?.withoutAccountCheck;
  if (checked && (await missingAccount(ctx, [debit, credit]))) return end();
  try {
    await balance.apply(debit.userId.toHexString(), debit.amount, debit.reason, {
      opId: debit.opId,
    });
  } catch (err) {
    if (checked && accountGone(err)) return end();
    if (hasErrorCode(err, "INSUFFICIENT_FUNDS")) {
      // Nothing was paid: hand the request back to pending so it can be approved later.
      await requests(ctx, kind).updateOne(
        { _id: req._id, status: "approving" },
        {
          $set: { status: "pending", updatedAt: new Date() },
          $unset: { approvedBy: "", approvedAmount: "", approvingAt: "" },
        },
      );
      throw await explainShortfall(ctx, kind, debit);
    }
    throw err;
  }
  await fire(faults, "debited", { requestId });
  try {
    await balance.apply(credit.userId.toHexString(), credit.amount, credit.reason, {
      opId: credit.opId,
    });
  } catch (err) {
    if (checked && accountGone(err)) return end();
    throw err;
  }
  await fire(faults, "credited", { requestId });
  return finishApproved();
}

export async function rejectRequest(
  ctx: PluginContext,
  kind: RequestKind,
  _id: ObjectId,
  admin: ObjectId,
  reason?: string,
): Promise<MoneyRequest> {
  const now = new Date();
  const rejected = await requests(ctx, kind).findOneAndUpdate(
    { _id, status: "pending" },
    {
      $set: {
        status: "rejected",
        rejectedBy: admin,
        rejectedAt: now,
        rejectionReason: reason ?? "",
        updatedAt: now,
      },
    },
    { returnDocument: "after" },
  );
  return rejected ?? explainMiss(ctx, kind, _id);
}
