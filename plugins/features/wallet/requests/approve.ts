import type { ObjectId } from "bson";
import { AppError, appError, hasErrorCode } from "../../../../src/core/errors";
import type { PluginContext } from "../../../../src/core/plugin";
import { landOpEarly, type Mode } from "../balance/steps";
import { type Faults, fire } from "../shared/faults";
import { ACCOUNT_GONE, endForMissingAccount, missingAccount } from "./account-gone";
import { explainShortfall } from "./funding";
import {
  asClaimed,
  type Claimed,
  type Leg,
  type MoneyRequest,
  type RequestKind,
  refundOpId,
} from "./kinds";

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
 * approves and, when corrected, how much, so the money legs can be replayed by recovery. It is
 * the first of the approval's four sequential MongoDB round trips (claim, debit, credit, final
 * transition; docs/IDENTITY-AND-MONEY.md).
 */
export async function approveRequest(
  ctx: PluginContext,
  kind: RequestKind,
  _id: ObjectId,
  admin: ObjectId,
  amount: number | undefined,
  faults?: Faults,
): Promise<MoneyRequest> {
  const now = new Date();
  const claimed = await requests(ctx, kind).findOneAndUpdate(
    { _id, status: "pending" },
    {
      $set: {
        status: "approving",
        approvedBy: admin,
        ...(amount === undefined ? {} : { approvedAmount: amount }),
        approvingAt: now,
        updatedAt: now,
      },
    },
    { returnDocument: "after" },
  );
  if (!claimed) return explainMiss(ctx, kind, _id);
  await fire(faults, "claimed", { requestId: _id.toHexString() });
  const settled = await settleApproval(ctx, kind, asClaimed(claimed), faults, "originator");
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
 * The money legs and the final transition. Idempotent by opId, so recovery calls it again (mode
 * "recovery": each leg fenced, then landed only if it is nowhere yet) for a request stuck in
 * "approving". The originator lands each leg with one conditional update, which is also its
 * account check (the raw read after a miss says why): an account that is gone (now or later)
 * ends the request as rejected with nothing moved for good (account-gone.ts: voided legs, or the
 * landed debit refunded), never a debit without its credit.
 */
export async function settleApproval(
  ctx: PluginContext,
  kind: RequestKind,
  req: Claimed,
  faults?: Faults,
  mode: Mode = "recovery",
): Promise<MoneyRequest> {
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

  if (req.undoing) return undoAttempt(ctx, kind, req, debit, appError("BALANCE_NOT_MIGRATED"));
  if (mode === "recovery" && checked && (await missingAccount(ctx, [debit, credit]))) return end();
  // Each leg's next step starts once its update is in MongoDB; its write-through and event
  // finish meanwhile and are awaited before the answer (steps.ts landOpEarly).
  const debitLanding = landOpEarly(ctx, debit, mode, faults);
  try {
    await debitLanding.landed;
  } catch (err) {
    if (checked && accountGone(err)) return end();
    if (hasErrorCode(err, "INSUFFICIENT_FUNDS", "BALANCE_NOT_MIGRATED")) {
      // Nothing was paid: hand the request back to pending so it can be approved later.
      await backToPending(ctx, kind, req, false);
      throw hasErrorCode(err, "INSUFFICIENT_FUNDS")
        ? await explainShortfall(ctx, kind, debit)
        : err;
    }
    throw err;
  }
  await fire(faults, "debited", { requestId });
  const creditLanding = landOpEarly(ctx, credit, mode, faults);
  try {
    await creditLanding.landed;
  } catch (err) {
    await debitLanding.done;
    // The credit's own update is the account check: a gone account or a balance not in minor
    // units yet is found by it, with nothing credited, and the landed debit is undone.
    if (checked && accountGone(err)) return end();
    if (err instanceof AppError && hasErrorCode(err, "BALANCE_NOT_MIGRATED"))
      return undoAttempt(ctx, kind, req, debit, err);
    throw err;
  }
  await fire(faults, "credited", { requestId });
  const legsDone = faults?.answerBeforeWriteThrough ? [] : [debitLanding.done, creditLanding.done];
  const [approved] = await Promise.all([finishApproved(), ...legsDone]);
  return approved;
}

/** approving → pending, the claim's bookkeeping removed; `undone`: the next claim is a new attempt. */
async function backToPending(ctx: PluginContext, kind: RequestKind, req: Claimed, undone: boolean) {
  await requests(ctx, kind).updateOne(
    { _id: req._id, status: "approving" },
    {
      $set: { status: "pending", updatedAt: new Date() },
      $unset: { approvedBy: "", approvedAmount: "", approvingAt: "", undoing: "" },
      ...(undone ? { $inc: { attempt: 1 } } : {}),
    },
  );
}

/**
 * The debit landed but the credit cannot (its balance is not in integer minor units): marked
 * `undoing` first (so a replay after a crash finishes the undo, never the approval), the debit
 * refunded exactly once through the ledger, then back to pending as a new attempt (fresh leg
 * opIds). The caller gets the refusal.
 */
async function undoAttempt(
  ctx: PluginContext,
  kind: RequestKind,
  req: Claimed,
  debit: Leg,
  cause: AppError,
): Promise<never> {
  await requests(ctx, kind).updateOne(
    { _id: req._id, status: "approving" },
    { $set: { undoing: cause.code } },
  );
  await ctx
    .use("balance")
    .apply(debit.userId.toHexString(), -debit.amount, `${debit.reason} refunded: ${cause.code}`, {
      opId: refundOpId(kind, req),
    });
  await backToPending(ctx, kind, req, true);
  throw cause;
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
