import type { ObjectId } from "bson";
import { appError } from "../../../src/core/errors";
import type { PluginContext } from "../../../src/core/plugin";
import type { BalanceResult } from "../../../src/domain/cache-sync";
import { rawUsers, sanitizedUsers } from "../../users";
import { LEDGER_COLLECTION } from "../collections";
import { type Faults, fire } from "../shared/faults";
import type { LedgerEntry } from "./types";

export const ledger = (ctx: PluginContext) => ctx.repo.collection<LedgerEntry>(LEDGER_COLLECTION);

export const insufficientFunds = () => appError("INSUFFICIENT_FUNDS");

/**
 * Money only moves on a balance that is an integer number (minor units). A database adopted from
 * another application may hold floats, strings or Decimal128 there until `bun run migrate`
 * converts them; adding cents to a balance still in dollars would be rescaled with it.
 */
const INTEGER_BALANCE = { $type: ["int", "long", "double"], $mod: [1, 0] };

/**
 * Before an approval claims its request: both accounts' balances must be integers, so a leg can
 * never land while the other is refused for the balance's shape (the request stays pending).
 */
export async function assertBalancesMigrated(
  ctx: PluginContext,
  userIds: readonly ObjectId[],
): Promise<void> {
  const users = await rawUsers(ctx).find(
    { _id: { $in: [...userIds] } },
    { projection: { wallet: 1 } },
  );
  for (const u of users) {
    const held: unknown = u.wallet?.balance;
    if (typeof held !== "number" || !Number.isSafeInteger(held))
      throw balanceNotMigrated(u._id.toHexString(), held);
  }
}

export const balanceNotMigrated = (userId: string, shown: unknown) =>
  appError(
    "BALANCE_NOT_MIGRATED",
    `The balance of user ${userId} is stored as ${JSON.stringify(shown) ?? "nothing"}, not integer minor units: run \`bun run doctor\` and \`bun run migrate\` before moving money`,
  );

/** Concurrent ops can make a failed guarded update ambiguous; re-try it this many times. */
const MAX_AMBIGUOUS_RETRIES = 5;

/**
 * Steps b–d for an entry whose intent is recorded: the one atomic, guarded `$inc` (through the
 * hooked repository, so version, write-through and the SSE event follow), then mark, then pull.
 *
 * Who may run b, without transactions or clocks: the originator, unless recovery has *fenced*
 * the op (`fencedOps` in the same user document, checked by the same atomic update); recovery
 * fences first, then runs b guarded only by `pendingOps`. A fenced op's `pendingOps` marker is
 * never pulled, so once any b landed no later b — a stalled originator, a second recovery — can
 * land again. Unfenced ops (the normal case) are pulled as usual.
 */
export async function applyEntry(
  ctx: PluginContext,
  entry: LedgerEntry,
  faults?: Faults,
  mode: "originator" | "recovery" = "originator",
): Promise<BalanceResult> {
  const { opId, amount, userId } = entry;
  const users = sanitizedUsers(ctx, { reason: entry.reason, opId });
  if (mode === "recovery")
    await rawUsers(ctx).updateOne({ _id: userId }, { $addToSet: { fencedOps: opId } });
  const fence = mode === "originator" ? { fencedOps: { $ne: opId } } : {};
  for (let attempt = 0; attempt <= MAX_AMBIGUOUS_RETRIES; attempt++) {
    const user = await users.findOneAndUpdate(
      {
        _id: userId,
        pendingOps: { $ne: opId },
        ...fence,
        "wallet.balance": amount < 0 ? { ...INTEGER_BALANCE, $gte: -amount } : INTEGER_BALANCE,
      },
      { $inc: { "wallet.balance": amount }, $push: { pendingOps: opId } },
      { returnDocument: "after" },
    );
    if (user) {
      await fire(faults, "applied", { opId });
      await markApplied(ctx, entry, user.wallet.balance, false, faults);
      return { user, applied: true, balanceAfter: user.wallet.balance };
    }
    // Why did the guarded update match nothing? A raw read tells the three cases apart.
    const raw = await rawUsers(ctx).findOne(
      { _id: userId },
      { projection: { wallet: 1, pendingOps: 1, fencedOps: 1 } },
    );
    if (!raw) {
      await ledger(ctx).deleteOne({ opId, status: "pending" });
      throw appError("USER_NOT_FOUND");
    }
    if (Array.isArray(raw.pendingOps) && raw.pendingOps.includes(opId)) {
      // Applied by an earlier run that stopped before marking it.
      await markApplied(ctx, entry, raw.wallet.balance, true, faults);
      const current = await ctx.use("cacheSync").getUserWithSync(userId.toHexString());
      if (!current) throw appError("USER_NOT_FOUND");
      return { user: current, applied: false, balanceAfter: raw.wallet.balance };
    }
    const held: unknown = raw.wallet?.balance;
    if (typeof held !== "number" || !Number.isSafeInteger(held)) {
      await ledger(ctx).deleteOne({ opId, status: "pending" });
      throw balanceNotMigrated(userId.toHexString(), held);
    }
    if (mode === "originator" && Array.isArray(raw.fencedOps) && raw.fencedOps.includes(opId)) {
      throw appError("BALANCE_DEFERRED");
    }
    if (amount < 0 && raw.wallet.balance < -amount) {
      // Nothing changed: drop the intent so the ledger only ever holds what happened.
      await ledger(ctx).deleteOne({ opId, status: "pending" });
      throw insufficientFunds();
    }
    // A concurrent credit made the debit affordable after our update missed: try again.
  }
  throw appError("BALANCE_CONTENDED");
}

/** Steps c and d. `recovered`: balanceAfter is the balance now, not right after the op. */
export async function markApplied(
  ctx: PluginContext,
  entry: LedgerEntry,
  balanceAfter: number,
  recovered: boolean,
  faults?: Faults,
) {
  await ledger(ctx).updateOne(
    { opId: entry.opId, status: "pending" },
    {
      $set: {
        status: "applied",
        balanceAfter,
        appliedAt: new Date(),
        ...(recovered ? { recovered: true } : {}),
      },
    },
  );
  await fire(faults, "marked", { opId: entry.opId });
  // pendingOps is internal (sanitized away), so this raw write needs no version bump or cache
  // write. A fenced op keeps its marker for good: it is what stops a late second b.
  await rawUsers(ctx).updateOne(
    { _id: entry.userId, fencedOps: { $ne: entry.opId } },
    { $pull: { pendingOps: entry.opId } },
  );
  await fire(faults, "pulled", { opId: entry.opId });
}
