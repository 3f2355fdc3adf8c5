import { ObjectId } from "bson";
import {
  appError,
  DuplicateKeyError,
  type ErrorCode,
  hasErrorCode,
} from "../../../../src/core/errors";
import type { PluginContext } from "../../../../src/core/plugin";
import { rawUsers } from "../../users";
import { drainUser } from "../balance/outbox";
import { ledger } from "../balance/steps";
import {
  type Claimed,
  type Leg,
  type MoneyRequest,
  type RequestKind,
  refundOpId as refundOpIdOf,
} from "./kinds";

/** Why a request ended without its money moving; stored on the request and answered to admins. */
export const ACCOUNT_GONE = "ACCOUNT_GONE" satisfies ErrorCode;

/** The leg whose account no longer exists in MongoDB, if any (read from MongoDB, never the cache). */
export async function missingAccount(
  ctx: PluginContext,
  legs: readonly Leg[],
): Promise<Leg | null> {
  const ids = legs.map((l) => l.userId);
  const found = await rawUsers(ctx).find({ _id: { $in: ids } }, { projection: { _id: 1 } });
  const present = new Set(found.map((u) => u._id.toHexString()));
  return legs.find((l) => !present.has(l.userId.toHexString())) ?? null;
}

/**
 * Makes `leg` unable to ever apply, or reports that it already did. The fence in the user
 * document stops a stalled approver's conditional update (the same atomic write checks it); the
 * drain then puts a leg that landed before the fence into the ledger; a `void` row under the
 * leg's opId records the cancellation and stops a caller-opId retry (OP_CANCELLED).
 */
async function voidLeg(ctx: PluginContext, leg: Leg): Promise<"voided" | "applied"> {
  await rawUsers(ctx).updateOne({ _id: leg.userId }, { $addToSet: { fencedOps: leg.opId } });
  await drainUser(ctx, leg.userId);
  try {
    await ledger(ctx).insertOne({
      opId: leg.opId,
      userId: leg.userId,
      amount: leg.amount,
      reason: `${leg.reason} (cancelled: account gone)`,
      status: "void",
      createdAt: new Date(),
    });
    return "voided";
  } catch (err) {
    if (!(err instanceof DuplicateKeyError)) throw err;
  }
  const entry = await ledger(ctx).findOne({ opId: leg.opId });
  if (!entry || entry.status === "void") return "voided";
  if (entry.status === "applied") return "applied";
  // A live run is between its intent and its apply: let it finish; recovery comes back.
  throw appError("OP_IN_PROGRESS", "The approval is still moving money; retry shortly");
}

/**
 * Ends an approval one of whose accounts is gone, moving no money for good: both legs are voided,
 * or if the debit already landed its credit is voided and the debit refunded through the ledger
 * (opId `<kind>:<id>:refund`, per attempt, so exactly once however often this runs). If both legs landed the
 * money is whole and the approval simply completes. Idempotent: recovery may replay it.
 */
export async function endForMissingAccount(
  ctx: PluginContext,
  kind: RequestKind,
  req: Claimed,
  legs: { debit: Leg; credit: Leg },
  finishApproved: () => Promise<MoneyRequest>,
): Promise<MoneyRequest> {
  const id = req._id.toHexString();
  let refundOpId: string | undefined;
  if ((await voidLeg(ctx, legs.debit)) === "applied") {
    if ((await voidLeg(ctx, legs.credit)) === "applied") return finishApproved();
    refundOpId = refundOpIdOf(kind, req);
    try {
      await ctx
        .use("balance")
        .apply(
          legs.debit.userId.toHexString(),
          -legs.debit.amount,
          `${kind.name} #${id} refunded: account gone`,
          { opId: refundOpId },
        );
    } catch (err) {
      // Both accounts gone: there is nobody left to refund; the ledger keeps what happened.
      if (!hasErrorCode(err, "USER_NOT_FOUND")) throw err;
      ctx.logger.error({ requestId: id }, "approval debit could not be refunded: account gone");
      refundOpId = undefined;
    }
  }
  const now = new Date();
  const requests = ctx.repo.collection<MoneyRequest>(kind.collection);
  const ended = await requests.findOneAndUpdate(
    { _id: req._id, status: "approving" },
    {
      $set: {
        status: "rejected",
        rejectedAt: now,
        rejectionReason: "The account no longer exists; no money was moved",
        rejectedCode: ACCOUNT_GONE,
        ...(refundOpId ? { refundOpId } : {}),
        updatedAt: now,
      },
    },
    { returnDocument: "after" },
  );
  ctx.logger.warn(
    { requestId: id, kind: kind.name, refunded: refundOpId !== undefined },
    "approval ended: an account of the request no longer exists",
  );
  return ended ?? ((await requests.findOne({ _id: new ObjectId(id) })) as MoneyRequest);
}
