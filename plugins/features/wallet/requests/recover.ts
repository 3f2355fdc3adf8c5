import type { PluginContext } from "../../../../src/core/plugin";
import { settleDrains } from "../balance/outbox";
import { RECOVERY_LOCK_TTL_MS, recoverPending } from "../balance/recover";
import type { Faults } from "../shared/faults";
import { requests, settleApproval } from "./approve";
import { asClaimed, DEPOSIT, type RequestKind, WITHDRAWAL } from "./kinds";

/**
 * Requests stuck in "approving" (the approver stopped between the claim and the final
 * transition) are settled by replaying their legs: each leg's opId makes the replay pay at most
 * once. Runs after the balance recovery so the legs find their own entries settled.
 */
export async function recoverApprovals(
  ctx: PluginContext,
  opts: { graceMs: number; faults?: Faults },
): Promise<number> {
  const cutoff = new Date(Date.now() - opts.graceMs);
  let settled = 0;
  for (const kind of [DEPOSIT, WITHDRAWAL] as RequestKind[]) {
    const stuck = await requests(ctx, kind).find(
      { status: "approving", approvingAt: { $lte: cutoff } },
      { limit: 1000 },
    );
    for (const req of stuck) {
      const id = req._id.toHexString();
      await ctx.locks.withLock(`approval:${id}`, RECOVERY_LOCK_TTL_MS, async () => {
        try {
          await settleApproval(ctx, kind, asClaimed(req), opts.faults, "recovery");
          settled++;
        } catch (err) {
          ctx.logger.warn({ err, kind: kind.name, id }, "could not settle a stuck approval");
        }
      });
    }
  }
  return settled;
}

/** Everything a crashed instance can leave behind, in the order it must be settled. */
export async function recoverWallet(
  ctx: PluginContext,
  opts: { graceMs: number },
): Promise<{ ops: number; approvals: number }> {
  const ops = await recoverPending(ctx, opts);
  const approvals = await recoverApprovals(ctx, opts);
  await settleDrains(ctx); // the replayed legs' drains: recovery ends with the ledger written
  return { ops, approvals };
}
