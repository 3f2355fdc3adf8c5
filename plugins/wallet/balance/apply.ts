import type { ObjectId } from "bson";
import { appError, DuplicateKeyError } from "../../../src/core/errors";
import { parseObjectId } from "../../../src/core/object-id";
import type { PluginContext } from "../../../src/core/plugin";
import type { BalanceChange, BalanceResult, BalanceService } from "../../../src/domain/cache-sync";
import { isValidDelta } from "../shared/amount";
import { type Faults, fire } from "../shared/faults";
import { recoverEntry } from "./recover";
import { applyEntry, ledger } from "./steps";
import type { BalanceOptions, LedgerEntry } from "./types";

const POLL_MS = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Exactly-once balance changes on a standalone MongoDB (no transactions):
 *  a. insert the ledger intent (unique opId: a retry stops here);
 *  b. one guarded `$inc` that also pushes opId into the user's pendingOps (the `$ne` guard
 *     makes it land once even if b is re-run);
 *  c. mark the entry applied with balanceAfter;
 *  d. pull opId from pendingOps.
 * A crash anywhere leaves a pending entry that recovery finishes (see recover.ts); recovery fences
 * the op in the user document before its own b, so a stalled originator can never apply it too
 * (steps.ts). A duplicate request never runs b: it waits for the original, or recovers it.
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
      const entry = await ledger(ctx).findOne({ opId });
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
      const opId = change.opId ?? `op:${crypto.randomUUID()}`;
      for (;;) {
        const createdAt = new Date();
        let entry: LedgerEntry;
        try {
          entry = await ledger(ctx).insertOne({
            opId,
            userId: _id,
            amount,
            reason,
            status: "pending",
            createdAt,
          });
        } catch (err) {
          if (!(err instanceof DuplicateKeyError)) throw err;
          const r = await existing(opId, _id, amount);
          if (r === "gone") continue;
          return r;
        }
        await fire(faults, "intent", { opId });
        return applyEntry(ctx, entry, faults);
      }
    },
  };
}
