import type { ObjectId } from "bson";
import { AppError, appError } from "../../../../src/core/errors";
import type { PluginContext } from "../../../../src/core/plugin";
import type { BalanceResult } from "../../../cache/cache-sync";
import { rawUsers, sanitizedUsers } from "../../users";
import { LEDGER_COLLECTION } from "../collections";
import { type Faults, fire } from "../shared/faults";
import { scheduleDrain, trackLanding } from "./outbox";
import { whenStored } from "./stored";
import type { LedgerEntry, Op } from "./types";

export const ledger = (ctx: PluginContext) => ctx.repo.collection<LedgerEntry>(LEDGER_COLLECTION);

export const insufficientFunds = () => appError("INSUFFICIENT_FUNDS");

/**
 * Money only moves on a balance that is an integer number (minor units). A database adopted from
 * another application may hold floats, strings or Decimal128 there until `bun run migrate`
 * converts them; adding cents to a balance still in dollars would be rescaled with it.
 */
const INTEGER_BALANCE = { $type: ["int", "long", "double"], $mod: [1, 0] };

export const balanceNotMigrated = (userId: string, shown: unknown) =>
  appError(
    "BALANCE_NOT_MIGRATED",
    `The balance of user ${userId} is stored as ${JSON.stringify(shown) ?? "nothing"}, not integer minor units: run \`bun run doctor\` and \`bun run migrate\` before moving money`,
  );

/** Concurrent ops can make a failed guarded update ambiguous; re-try it this many times. */
const MAX_AMBIGUOUS_RETRIES = 5;

/**
 * Who may run an op: `originator` — a run nobody else can be repeating (a fresh opId, one whose
 * ledger intent it inserted, or an approval leg under its own claim) — lands it unless recovery
 * fenced it; `recovery` (under the op's lock) fences it first, so a stalled originator can never
 * land it afterwards, and lands it only if it is in neither the user document nor the ledger.
 */
export type Mode = "originator" | "recovery";

/**
 * The one request-path write of a balance change: a single conditional update of the user
 * document that checks the guard (`pendingOps` does not hold the opId), the fence and the funds,
 * moves the balance and records the pending ledger entry in `ledgerOutbox`. The ledger row and
 * the guard cleanup follow off the request path (outbox.ts). Hooked, so version, write-through
 * and the SSE event follow as for any user write.
 */
export async function landOp(
  ctx: PluginContext,
  op: Op,
  mode: Mode,
  faults?: Faults,
  /** The "applied" step, when the caller shares it (landOpEarly); by default the fault point. */
  appliedStep: () => void | Promise<void> = () => fire(faults, "applied", { opId: op.opId }),
): Promise<BalanceResult> {
  const { opId, amount, userId, reason } = op;
  if (mode === "recovery") {
    const done = await settledElsewhere(ctx, op);
    if (done) return done;
  }
  const users = sanitizedUsers(ctx, { reason, opId });
  const fence = mode === "originator" ? { fencedOps: { $ne: opId } } : {};
  for (let attempt = 0; attempt <= MAX_AMBIGUOUS_RETRIES; attempt++) {
    const entry = { opId, amount, reason, at: new Date() };
    const user = await users.findOneAndUpdate(
      {
        _id: userId,
        pendingOps: { $ne: opId },
        ...fence,
        "wallet.balance": amount < 0 ? { ...INTEGER_BALANCE, $gte: -amount } : INTEGER_BALANCE,
      },
      {
        $inc: { "wallet.balance": amount },
        $push: { pendingOps: opId, ledgerOutbox: entry },
      },
      { returnDocument: "after" },
    );
    if (user) {
      await appliedStep();
      scheduleDrain(ctx, { userId, entry, balanceAfter: user.wallet.balance }, faults);
      return { user, applied: true, balanceAfter: user.wallet.balance };
    }
    // Why did the guarded update match nothing? A raw read tells the cases apart.
    const raw = await rawUsers(ctx).findOne(
      { _id: userId },
      { projection: { wallet: 1, pendingOps: 1, fencedOps: 1 } },
    );
    if (!raw) throw appError("USER_NOT_FOUND");
    if (Array.isArray(raw.pendingOps) && raw.pendingOps.includes(opId)) {
      // Landed by an earlier run whose outbox entry is not drained yet.
      return alreadyApplied(ctx, userId, raw.wallet.balance);
    }
    const held: unknown = raw.wallet?.balance;
    if (typeof held !== "number" || !Number.isSafeInteger(held))
      throw balanceNotMigrated(userId.toHexString(), held);
    if (mode === "originator" && Array.isArray(raw.fencedOps) && raw.fencedOps.includes(opId))
      throw appError("BALANCE_DEFERRED");
    if (amount < 0 && raw.wallet.balance < -amount) throw insufficientFunds();
    // A concurrent credit made the debit affordable after our update missed: try again.
  }
  throw appError("BALANCE_CONTENDED");
}

/**
 * Recovery's first step: fence the op in the user document (the originator's update checks the
 * fence in the same atomic write), then look for it where a landed op can be. A drain pulls the
 * guard of an unfenced op only after writing its ledger row, and never pulls a fenced one, so
 * after the fence an op that landed is in `pendingOps` or in the ledger.
 */
async function settledElsewhere(ctx: PluginContext, op: Op): Promise<BalanceResult | null> {
  await rawUsers(ctx).updateOne({ _id: op.userId }, { $addToSet: { fencedOps: op.opId } });
  const row = await ledger(ctx).findOne({ opId: op.opId });
  if (row?.status === "void") throw appError("OP_CANCELLED");
  if (row?.status !== "applied") return null;
  const raw = await rawUsers(ctx).findOne({ _id: op.userId }, { projection: { wallet: 1 } });
  if (!raw) throw appError("USER_NOT_FOUND");
  return alreadyApplied(ctx, op.userId, raw.wallet.balance);
}

async function alreadyApplied(
  ctx: PluginContext,
  userId: ObjectId,
  balance: number,
): Promise<BalanceResult> {
  const current = await ctx.use("cacheSync").getUserWithSync(userId.toHexString());
  if (!current) throw appError("USER_NOT_FOUND");
  return { user: current, applied: false, balanceAfter: balance };
}

/** Refusals after which an op's intent is dropped: nothing changed, the ledger holds only what happened. */
const NOTHING_CHANGED = new Set(["USER_NOT_FOUND", "INSUFFICIENT_FUNDS", "BALANCE_NOT_MIGRATED"]);

/**
 * landOp for an op whose `pending` intent row exists: a refusal drops the intent, so a retry of
 * the opId after funding starts afresh.
 */
export async function landIntent(
  ctx: PluginContext,
  op: Op,
  mode: Mode,
  faults?: Faults,
): Promise<BalanceResult> {
  try {
    return await landOp(ctx, op, mode, faults);
  } catch (err) {
    if (err instanceof AppError && NOTHING_CHANGED.has(err.code))
      await ledger(ctx).deleteOne({ opId: op.opId, status: "pending" });
    throw err;
  }
}

/**
 * An op landed in two stages: `landed` settles once its update is in MongoDB (or with the
 * refusal, or when it had landed already), `done` once the write-through and the event followed
 * as well. A caller with more writes to make (an approval's next leg) starts them at `landed`
 * and answers only after `done`, so the Redis round trips of one step overlap the next step's
 * MongoDB round trip; nothing is acknowledged before its write-through.
 */
export interface Landing {
  landed: Promise<void>;
  done: Promise<BalanceResult>;
}

export function landOpEarly(ctx: PluginContext, op: Op, mode: Mode, faults?: Faults): Landing {
  let updated = false;
  let signal!: () => void;
  const stored = new Promise<void>((resolve) => {
    signal = resolve;
  });
  const stop = whenStored(ctx, op.opId, () => {
    updated = true;
    signal();
  });
  // landOp's "applied" step, run once whoever reaches it first: a crash injected there stops
  // both the caller's next step and this op's own drain, as a crash of the process would.
  let step: Promise<void> | undefined;
  const applied = () => {
    step ??= Promise.resolve().then(() => fire(faults, "applied", { opId: op.opId }));
    return step;
  };
  const done = landOp(ctx, op, mode, faults, applied).finally(stop);
  trackLanding(ctx, done);
  const landed = Promise.race([stored, done.then(() => undefined)]).then(() =>
    updated ? applied() : undefined,
  );
  // A caller stopped at `landed` (a refusal, a crash) leaves `done` to finish on its own.
  done.catch(() => undefined);
  return { landed, done };
}
