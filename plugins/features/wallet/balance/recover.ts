import type { PluginContext } from "../../../../src/core/plugin";
import { rawUsers } from "../../users";
import { drainAll, drainUser } from "./outbox";
import { landIntent, ledger } from "./steps";
import type { LedgerEntry } from "./types";

/** A recovery lock is held at most this long, so a holder that dies cannot block recovery for good. */
export const RECOVERY_LOCK_TTL_MS = 30_000;

/**
 * Finishes one pending intent under a per-op lock (so two instances recovering at once, or a
 * recovery and a retried request, do not both run it). Whatever the state, the outcome is the
 * same as if the original run had completed: applied exactly once, or — when the funds or the
 * user are gone — removed with nothing changed. Returns false when another holder has the lock.
 */
export async function recoverEntry(ctx: PluginContext, entry: LedgerEntry): Promise<boolean> {
  const run = await ctx.locks.withLock(
    `ledger-op:${entry.opId}`,
    RECOVERY_LOCK_TTL_MS,
    async () => {
      // A landed op only needs its drain, which turns the intent into the applied row.
      await drainUser(ctx, entry.userId);
      const fresh = await ledger(ctx).findOne({ opId: entry.opId });
      if (fresh?.status !== "pending") return;
      try {
        const r = await landIntent(ctx, fresh, "recovery");
        await drainUser(ctx, entry.userId);
        if (!r.applied)
          // Fenced and found landed earlier: the drain wrote its row, or it had no outbox entry.
          await ledger(ctx).updateOne(
            { opId: entry.opId, status: "pending" },
            { $set: { status: "applied", appliedAt: new Date(), recovered: true } },
          );
      } catch (err) {
        // 404 / 409 INSUFFICIENT_FUNDS: landIntent already dropped the intent; nothing to finish.
        ctx.logger.warn({ err, opId: entry.opId }, "recovered balance op did not apply");
      }
    },
  );
  return run.held;
}

/**
 * Start-up (periodic, test) recovery: drains every outbox a stopped process left behind, then
 * finishes every pending intent older than `graceMs` (a run that stopped before its update).
 * Returns how many were settled.
 */
export async function recoverPending(
  ctx: PluginContext,
  opts: { graceMs: number; batch?: number },
): Promise<number> {
  let settled = await drainAll(ctx);
  const cutoff = new Date(Date.now() - opts.graceMs);
  const entries = await ledger(ctx).find(
    { status: "pending", createdAt: { $lte: cutoff } },
    { sort: { createdAt: 1 }, limit: opts.batch ?? 1000 },
  );
  for (const e of entries) if (await recoverEntry(ctx, e)) settled++;
  settled += await sweepAppliedGuards(ctx, cutoff);
  if (settled) ctx.logger.info({ settled }, "settled pending balance operations");
  return settled;
}

/**
 * A guard whose op is in the ledger and no longer in the outbox (a drain that found the op
 * fenced after its snapshot, or the pre-outbox protocol's runs) is harmless to money but would
 * grow the array, so recovery pulls the unfenced ones whose entry was applied before the cutoff.
 */
async function sweepAppliedGuards(ctx: PluginContext, cutoff: Date): Promise<number> {
  const users = await rawUsers(ctx).find(
    { "pendingOps.0": { $exists: true } },
    { projection: { pendingOps: 1, fencedOps: 1, ledgerOutbox: 1 }, limit: 1000 },
  );
  let pulled = 0;
  for (const u of users) {
    // Fenced markers stay: they are what keeps a recovered op from landing twice.
    const fenced = new Set((u.fencedOps as string[] | undefined) ?? []);
    const boxed = new Set(
      ((u.ledgerOutbox as { opId: string }[] | undefined) ?? []).map((e) => e.opId),
    );
    const opIds = ((u.pendingOps as string[] | undefined) ?? []).filter(
      (op) => !fenced.has(op) && !boxed.has(op),
    );
    if (opIds.length === 0) continue;
    const done = await ledger(ctx).find(
      { opId: { $in: opIds }, status: "applied", appliedAt: { $lte: cutoff } },
      { projection: { opId: 1 } },
    );
    if (done.length === 0) continue;
    const ids = done.map((e) => e.opId);
    await rawUsers(ctx).updateOne(
      { _id: u._id, fencedOps: { $nin: ids } },
      { $pull: { pendingOps: { $in: ids } } },
    );
    pulled += done.length;
  }
  return pulled;
}
