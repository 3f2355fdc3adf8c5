import type { ObjectId } from "bson";
import { DuplicateKeyError } from "../../../../src/core/errors";
import type { PluginContext } from "../../../../src/core/plugin";
import { rawUsers } from "../../users";
import { LEDGER_COLLECTION } from "../collections";
import { type Faults, fire } from "../shared/faults";
import type { LedgerEntry, OutboxEntry } from "./types";

/**
 * The drain: moves a user's landed ops from `ledgerOutbox` (written by the same atomic update
 * that moved the balance, steps.ts) into the ledger collection, then pulls the entries and their
 * `pendingOps` guards. Off the request path; idempotent by opId, so a crash anywhere in it is
 * finished by the next drain (the originator's, a duplicate request's, the ledger read's or
 * recovery's).
 *
 * balanceAfter comes from one snapshot of the document: every balance change lands through the
 * outbox, so the last entry's balanceAfter is the balance and each earlier one is the later one
 * minus the later amount. Two drains of overlapping snapshots compute the same figures.
 */
export async function drainUser(
  ctx: PluginContext,
  userId: ObjectId,
  faults?: Faults,
): Promise<number> {
  const doc = await rawUsers(ctx).findOne(
    { _id: userId },
    { projection: { wallet: 1, ledgerOutbox: 1, fencedOps: 1 } },
  );
  const box = (doc?.ledgerOutbox as OutboxEntry[] | undefined) ?? [];
  if (!doc || box.length === 0) return 0;
  let after = doc.wallet.balance;
  const rows: { entry: OutboxEntry; balanceAfter: number }[] = [];
  for (let i = box.length - 1; i >= 0; i--) {
    const entry = box[i] as OutboxEntry;
    rows.unshift({ entry, balanceAfter: after });
    after -= entry.amount;
  }
  await Promise.all(
    rows.map(({ entry, balanceAfter }) => writeRow(ctx, userId, entry, balanceAfter)),
  );
  const ids = box.map((e) => e.opId);
  await fire(faults, "ledgered", { opId: ids[ids.length - 1] });
  // A fenced op keeps its guard for good: it is what stops a stalled originator's late update.
  const fenced = new Set((doc.fencedOps as string[] | undefined) ?? []);
  const unfenced = ids.filter((op) => !fenced.has(op));
  const pulled = await rawUsers(ctx).updateOne(
    { _id: userId, fencedOps: { $nin: unfenced } },
    { $pull: { ledgerOutbox: { opId: { $in: ids } }, pendingOps: { $in: unfenced } } },
  );
  if (pulled.matchedCount === 0) {
    // Fenced since the snapshot: drop the entries, keep every guard (recovery sweeps the rest).
    await rawUsers(ctx).updateOne(
      { _id: userId },
      { $pull: { ledgerOutbox: { opId: { $in: ids } } } },
    );
  }
  await fire(faults, "drained", { opId: ids[ids.length - 1] });
  return ids.length;
}

/** The applied ledger row of one outbox entry; a `pending` intent becomes it, an applied row stays. */
async function writeRow(
  ctx: PluginContext,
  userId: ObjectId,
  entry: OutboxEntry,
  balanceAfter: number,
): Promise<void> {
  try {
    await ctx.repo.collection<LedgerEntry>(LEDGER_COLLECTION).updateOne(
      { opId: entry.opId, status: { $ne: "applied" } },
      {
        $set: { status: "applied", balanceAfter, appliedAt: entry.at },
        $setOnInsert: { userId, amount: entry.amount, reason: entry.reason, createdAt: entry.at },
      },
      { upsert: true },
    );
  } catch (err) {
    // The row is already applied (an earlier or concurrent drain): nothing to write.
    if (!(err instanceof DuplicateKeyError)) throw err;
  }
}

/**
 * The originator's own drain: it knows its entry and the balance right after it (the update
 * returned the document), so it writes the row and pulls its entry and guard without reading
 * the document first — two writes instead of the snapshot drain's read and two.
 */
async function drainOwn(ctx: PluginContext, userId: ObjectId, own: Landed, faults?: Faults) {
  await writeRow(ctx, userId, own.entry, own.balanceAfter);
  await fire(faults, "ledgered", { opId: own.entry.opId });
  const opId = own.entry.opId;
  const pulled = await rawUsers(ctx).updateOne(
    { _id: userId, fencedOps: { $ne: opId } },
    { $pull: { ledgerOutbox: { opId }, pendingOps: opId } },
  );
  if (pulled.matchedCount === 0)
    await rawUsers(ctx).updateOne({ _id: userId }, { $pull: { ledgerOutbox: { opId } } });
  await fire(faults, "drained", { opId });
}

/** An op the caller just landed: its outbox entry and the balance the update returned. */
export interface Landed {
  entry: OutboxEntry;
  balanceAfter: number;
}

interface DrainState {
  running: Map<string, { again: boolean; done: Promise<void> }>;
}
const states = new WeakMap<object, DrainState>();
const stateOf = (ctx: PluginContext): DrainState => {
  let s = states.get(ctx.repo);
  if (!s) {
    s = { running: new Map() };
    states.set(ctx.repo, s);
  }
  return s;
};

/**
 * Starts a background drain of the user's outbox (the landed op's own entry first), or asks the
 * running one to go round again, so ops landing together on a busy account are drained by one
 * snapshot pass. Failures are logged: the entries stay in the document and the next drain or
 * recovery takes them.
 */
export function scheduleDrain(
  ctx: PluginContext,
  userId: ObjectId,
  own: Landed,
  faults?: Faults,
): void {
  const { running } = stateOf(ctx);
  const key = userId.toHexString();
  const current = running.get(key);
  if (current) {
    current.again = true;
    return;
  }
  const job = { again: false, done: Promise.resolve() };
  job.done = (async () => {
    await Promise.resolve(); // after the caller's answer is on its way
    try {
      await drainOwn(ctx, userId, own, faults);
      while (job.again) {
        job.again = false;
        await drainUser(ctx, userId, faults);
      }
    } catch (err) {
      ctx.logger.warn(
        { err, userId: key },
        "ledger drain failed; the next drain or recovery retries",
      );
    } finally {
      running.delete(key);
    }
  })();
  running.set(key, job);
}

/** Waits for the background drains in flight (shutdown, tests). */
export async function settleDrains(ctx: PluginContext): Promise<void> {
  const { running } = stateOf(ctx);
  while (running.size > 0) await Promise.all([...running.values()].map((j) => j.done));
}

/** Recovery: drains every user whose outbox holds entries (a process stopped before its drain). */
export async function drainAll(ctx: PluginContext, faults?: Faults): Promise<number> {
  const users = await rawUsers(ctx).find(
    { "ledgerOutbox.0": { $exists: true } },
    { projection: { _id: 1 }, limit: 1000 },
  );
  let drained = 0;
  for (const u of users) drained += await drainUser(ctx, u._id, faults);
  return drained;
}
