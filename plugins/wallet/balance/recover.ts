import type { PluginContext } from "../../../src/core/plugin";
import { rawUsers } from "../../users";
import { applyEntry, ledger } from "./steps";
import type { LedgerEntry } from "./types";

/** A recovery lock is held at most this long, so a holder that dies cannot block recovery for good. */
export const RECOVERY_LOCK_TTL_MS = 30_000;

/**
 * Finishes one pending entry under a per-op lock (so two instances recovering at once, or a
 * recovery and a retried request, do not both run it). Whatever the state, the outcome is the
 * same as if the original run had completed: applied exactly once, or — when the funds or the
 * user are gone — removed with nothing changed. Returns false when another holder has the lock.
 */
export async function recoverEntry(ctx: PluginContext, entry: LedgerEntry): Promise<boolean> {
  const run = await ctx.locks.withLock(
    `ledger-op:${entry.opId}`,
    RECOVERY_LOCK_TTL_MS,
    async () => {
      const fresh = await ledger(ctx).findOne({ opId: entry.opId });
      if (fresh?.status !== "pending") return;
      try {
        await applyEntry(ctx, fresh, undefined, "recovery");
      } catch (err) {
        // 404 / 409 INSUFFICIENT_FUNDS: applyEntry already dropped the intent; nothing to finish.
        ctx.logger.warn({ err, opId: entry.opId }, "recovered balance op did not apply");
      }
    },
  );
  return run.held;
}

/**
 * Start-up (and test) recovery: every pending entry older than `graceMs` is a run that stopped
 * between its steps. Returns how many were settled.
 */
export async function recoverPending(
  ctx: PluginContext,
  opts: { graceMs: number; batch?: number },
): Promise<number> {
  const cutoff = new Date(Date.now() - opts.graceMs);
  const entries = await ledger(ctx).find(
    { status: "pending", createdAt: { $lte: cutoff } },
    { sort: { createdAt: 1 }, limit: opts.batch ?? 1000 },
  );
  let settled = 0;
  for (const e of entries) if (await recoverEntry(ctx, e)) settled++;
  settled += await sweepAppliedGuards(ctx, cutoff);
  if (settled) ctx.logger.info({ settled }, "settled pending balance operations");
  return settled;
}

/**
 * A run that stopped between c (marked) and d (pull) leaves its opId in the user's pendingOps.
 * Harmless to money (it only guards an op that is already applied), but the array would grow, so
 * recovery pulls guards whose ledger entry has been applied since before the cutoff.
 */
async function sweepAppliedGuards(ctx: PluginContext, cutoff: Date): Promise<number> {
  const users = await rawUsers(ctx).find(
    { "pendingOps.0": { $exists: true } },
    { projection: { pendingOps: 1, fencedOps: 1 }, limit: 1000 },
  );
  let pulled = 0;
  for (const u of users) {
    // Fenced markers stay (see steps.ts): they are what keeps a recovered op from landing twice.
    const fenced = new Set((u.fencedOps as string[] | undefined) ?? []);
    const opIds = ((u.pendingOps as string[] | undefined) ?? []).filter((op) => !fenced.has(op));
    const done = await ledger(ctx).find(
      { opId: { $in: opIds }, status: "applied", appliedAt: { $lte: cutoff } },
      { projection: { opId: 1 } },
    );
    if (done.length === 0) continue;
    await rawUsers(ctx).updateOne(
      { _id: u._id },
      { $pull: { pendingOps: { $in: done.map((e) => e.opId) } } },
    );
    pulled += done.length;
  }
  return pulled;
}
