import type { ObjectId } from "bson";
import { appError, DuplicateKeyError } from "../../../../src/core/errors";
import { parseObjectId } from "../../../../src/core/object-id";
import type { PluginContext } from "../../../../src/core/plugin";
import type { BalanceChange, BalanceResult, BalanceService } from "../../../cache/cache-sync";
import { isValidDelta } from "../shared/amount";
import { type Faults, fire } from "../shared/faults";
import { drainUser } from "./outbox";
import { recoverEntry } from "./recover";
import { landIntent, landOp, ledger } from "./steps";
import type { BalanceOptions } from "./types";

const POLL_MS = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Exactly-once balance changes on a standalone MongoDB (no transactions), docs/IDENTITY-AND-MONEY.md:
 *  - an op without a caller opId is fresh (nobody can be retrying it): one conditional update of
 *    the user document (guard, funds, `$inc`, pending ledger entry in `ledgerOutbox`);
 *  - a caller-supplied opId may be a retry of an op drained long ago, whose guard is gone: its
 *    `pending` intent row (unique opId) is inserted first, so a retry stops there;
 *  - the ledger row and the guard cleanup are drained off the request path (outbox.ts).
 * A crash anywhere leaves an outbox entry (drained by recovery) or a pending intent (recovered:
 * fenced, then applied once). A duplicate request never lands: it waits for the original, or
 * recovers it.
 */
export function createBalanceService(
  ctx: PluginContext,
  opts: BalanceOptions,
  faults?: Faults,
): BalanceService {
  async function existing(
    opId: string,
    userId: ObjectId,
    amount: number,
  ): Promise<BalanceResult | "gone"> {
    const deadline = Date.now() + opts.waitMs;
    for (;;) {
      let entry = await ledger(ctx).findOne({ opId });
      if (entry?.status === "pending") {
        // Landed ops only wait for their drain: run it here rather than poll for it.
        await drainUser(ctx, entry.userId);
        entry = await ledger(ctx).findOne({ opId });
      }
      if (!entry) return "gone"; // the first attempt changed nothing (insufficient funds): try afresh
      if (!entry.userId.equals(userId) || entry.amount !== amount) {
        throw appError("OP_ID_REUSED");
      }
      if (entry.status === "void") throw appError("OP_CANCELLED");
      if (entry.status === "applied") {
        const user = await ctx.use("cacheSync").getUserWithSync(userId.toHexString());
        if (!user) throw appError("USER_NOT_FOUND");
        return { user, applied: false, balanceAfter: entry.balanceAfter ?? user.wallet.balance };
      }
      if (Date.now() - entry.createdAt.getTime() > opts.graceMs) {
        // The original run is presumed dead: finish it ourselves, under the recovery lock.
        await recoverEntry(ctx, entry);
        continue;
      }
      if (Date.now() > deadline) throw appError("OP_IN_PROGRESS");
      await sleep(POLL_MS);
    }
  }

  return {
    async apply(
      userId: string,
      amount: number,
      reason: string,
      change: BalanceChange = {},
    ): Promise<BalanceResult> {
      const _id = parseObjectId(userId);
      if (!_id) throw appError("USER_NOT_FOUND");
      if (!isValidDelta(amount)) throw appError("INVALID_AMOUNT", undefined, { amount });
      if (typeof reason !== "string" || reason.length === 0 || reason.length > 500)
        throw appError("VALIDATION_ERROR", "reason is required");
      if (change.opId === undefined) {
        const op = { opId: `op:${crypto.randomUUID()}`, userId: _id, amount, reason };
        return landOp(ctx, op, "originator", faults);
      }
      const op = { opId: change.opId, userId: _id, amount, reason };
      for (;;) {
        try {
          await ledger(ctx).insertOne({ ...op, status: "pending", createdAt: new Date() });
        } catch (err) {
          if (!(err instanceof DuplicateKeyError)) throw err;
          const r = await existing(op.opId, _id, amount);
          if (r === "gone") continue;
          return r;
        }
        await fire(faults, "intent", { opId: op.opId });
        return landIntent(ctx, op, "originator", faults);
      }
    },
  };
}
