import type { ObjectId } from "bson";
import { DuplicateKeyError } from "../../../../src/core/errors";
import type { PluginContext } from "../../../../src/core/plugin";
import type { BulkUpdateOne } from "../../../../src/core/ports/document-store";
import { rawUsers, USER_COLLECTION } from "../../users";
import { LEDGER_COLLECTION } from "../collections";
import { type Faults, fire } from "../shared/faults";
import type { OutboxEntry } from "./types";

/**
 * The drain: moves landed ops from the users' `ledgerOutbox` (written by the same atomic update
 * that moved the balance, steps.ts) into the ledger collection, then pulls the entries and their
 * `pendingOps` guards. Off the request path; idempotent by opId, so a crash anywhere in it is
 * finished by the next drain (a later batch's, a duplicate request's, the ledger read's or
 * recovery's).
 *
 * Both writes are bulk writes on the raw store (one MongoDB command each, however many ops): the
 * ledger is not cached and the pulls change nothing a cache or an event shows, so no hook has
 * anything to do with them.
 */

/** A landed op: whose, its outbox entry, and the balance right after it. */
export interface Landed {
  userId: ObjectId;
  entry: OutboxEntry;
  balanceAfter: number;
}

/** The applied ledger row of one outbox entry: what applying sets, and what a new row starts with. */
function rowFields({ userId, entry, balanceAfter }: Landed) {
  return {
    applied: { status: "applied", balanceAfter, appliedAt: entry.at },
    created: { userId, amount: entry.amount, reason: entry.reason, createdAt: entry.at },
  };
}

/** That row as an upsert: a `pending` intent becomes it, an applied row stays. */
function rowStatement(row: Landed): BulkUpdateOne {
  const { applied, created } = rowFields(row);
  return {
    filter: { opId: row.entry.opId, status: { $ne: "applied" } },
    update: { $set: applied, $setOnInsert: created },
    upsert: true,
  };
}

/** That row as a whole document, for the insert that writes most rows (writeRows). */
const rowDocument = (row: Landed) => {
  const { applied, created } = rowFields(row);
  return { opId: row.entry.opId, ...created, ...applied };
};

/**
 * Writes the rows in one command: an unordered insert, since nearly every row is new (a fresh
 * op's opId is unique) and an insert is cheaper than an upsert's query and update. A row the
 * unique opId refuses — a caller's pending intent, or already applied by an earlier or
 * concurrent drain — is upserted instead (rowStatement: the intent becomes applied, an applied
 * row stays). That bulk write fails on a row applied meanwhile (its upsert is a duplicate key)
 * after the other statements ran (unordered); then each row is written alone, where that
 * duplicate means "done".
 */
async function writeRows(ctx: PluginContext, rows: readonly Landed[]): Promise<void> {
  if (rows.length === 0) return;
  const { duplicates } = await ctx.stores.db.bulkInsert(LEDGER_COLLECTION, rows.map(rowDocument));
  const rest = duplicates.map((i) => rows[i] as Landed);
  if (rest.length === 0) return;
  try {
    await ctx.stores.db.bulkUpdate(LEDGER_COLLECTION, rest.map(rowStatement));
  } catch {
    for (const row of rest) {
      try {
        await ctx.stores.db.collection(LEDGER_COLLECTION).updateOne(...statementArgs(row));
      } catch (err) {
        if (!(err instanceof DuplicateKeyError)) throw err;
      }
    }
  }
}

const statementArgs = (row: Landed) => {
  const s = rowStatement(row);
  return [s.filter, s.update as Record<string, unknown>, { upsert: true }] as const;
};

/**
 * Pulls the entries and guards of the given ops, one statement per user in one command. A fenced
 * op keeps its guard for good (it is what stops a stalled originator's late update), so a user
 * holding a fenced one among them is not matched; those users are settled one op at a time,
 * where a fenced op only loses its outbox entry.
 */
async function pullDrained(ctx: PluginContext, byUser: Map<string, Landed[]>): Promise<void> {
  const statements = [...byUser.values()].map((ops): BulkUpdateOne => {
    const ids = ops.map((o) => o.entry.opId);
    return {
      filter: { _id: ops[0]?.userId, fencedOps: { $nin: ids } },
      update: { $pull: { ledgerOutbox: { opId: { $in: ids } }, pendingOps: { $in: ids } } },
    };
  });
  const pulled = await ctx.stores.db.bulkUpdate(USER_COLLECTION, statements);
  if (pulled.matchedCount === statements.length) return;
  for (const ops of byUser.values())
    for (const { userId, entry } of ops) {
      const { opId } = entry;
      const one = await rawUsers(ctx).updateOne(
        { _id: userId, fencedOps: { $ne: opId } },
        { $pull: { ledgerOutbox: { opId }, pendingOps: opId } },
      );
      if (one.matchedCount === 0)
        await rawUsers(ctx).updateOne({ _id: userId }, { $pull: { ledgerOutbox: { opId } } });
    }
}

/** Ledgers the ops, then pulls them: the drain of a batch of landed ops. */
async function drainLanded(
  ctx: PluginContext,
  ops: readonly Landed[],
  faults?: Faults,
): Promise<void> {
  await writeRows(ctx, ops);
  for (const o of ops) await fire(faults, "ledgered", { opId: o.entry.opId });
  const byUser = new Map<string, Landed[]>();
  for (const o of ops) {
    const key = o.userId.toHexString();
    const list = byUser.get(key);
    if (list) list.push(o);
    else byUser.set(key, [o]);
  }
  await pullDrained(ctx, byUser);
  for (const o of ops) await fire(faults, "drained", { opId: o.entry.opId });
}

/**
 * Drains one user's whole outbox from one snapshot of the document (recovery, a duplicate
 * request, the ledger read). balanceAfter: every balance change lands through the outbox, so the
 * last entry's balanceAfter is the balance and each earlier one is the later one minus the later
 * amount. Two drains of overlapping snapshots compute the same figures.
 */
export async function drainUser(
  ctx: PluginContext,
  userId: ObjectId,
  faults?: Faults,
): Promise<number> {
  const doc = await rawUsers(ctx).findOne(
    { _id: userId },
    { projection: { wallet: 1, ledgerOutbox: 1 } },
  );
  const box = (doc?.ledgerOutbox as OutboxEntry[] | undefined) ?? [];
  if (!doc || box.length === 0) return 0;
  let after = doc.wallet.balance;
  const ops: Landed[] = [];
  for (let i = box.length - 1; i >= 0; i--) {
    const entry = box[i] as OutboxEntry;
    ops.unshift({ userId, entry, balanceAfter: after });
    after -= entry.amount;
  }
  await drainLanded(ctx, ops, faults);
  return ops.length;
}

interface DrainState {
  /** Landed ops waiting for the next batch. */
  queue: Landed[];
  /** Users whose last batch failed: the next batch drains their whole outbox. */
  retry: Map<string, ObjectId>;
  running: Promise<void> | null;
  /** Ends the current linger early (the queue filled a batch). */
  wake: (() => void) | null;
  /**
   * Ops whose update MongoDB acknowledged but whose write-through and drain scheduling are still
   * to come (an approval's legs, landOpEarly): a caller that stopped at the acknowledgement — an
   * approval answering on a refusal or a crash — leaves them running.
   */
  landing: Set<Promise<unknown>>;
}
const states = new WeakMap<object, DrainState>();
const stateOf = (ctx: PluginContext): DrainState => {
  let s = states.get(ctx.repo);
  if (!s) {
    s = { queue: [], retry: new Map(), running: null, wake: null, landing: new Set() };
    states.set(ctx.repo, s);
  }
  return s;
};

/** Ops per batch: bounds one bulk write, and the outbox entries one pull removes per user. */
const MAX_BATCH = 256;
/**
 * How long a batch waits for more ops unless FULL_BATCH have queued: a drain per op would cost
 * two MongoDB commands per op, each competing with the next request's update for the server.
 */
const LINGER_MS = 5;
const FULL_BATCH = 32;

/**
 * Queues a landed op for the background drain (group commit): one batch at a time, each taking
 * every op that landed while the previous one ran or its linger lasted, across users, so an
 * instance writes its ledger rows and pulls in two commands per batch instead of two per op. Failures are logged:
 * the entries stay in the documents and the next batch (their whole outbox), a ledger read or
 * recovery takes them.
 */
export function scheduleDrain(ctx: PluginContext, landed: Landed, faults?: Faults): void {
  const state = stateOf(ctx);
  state.queue.push(landed);
  if (!state.running) state.running = runBatches(ctx, state, faults);
  else if (state.queue.length >= FULL_BATCH) state.wake?.();
}

/** Waits LINGER_MS, or less when the queue fills a batch meanwhile. */
function linger(state: DrainState): Promise<void> {
  if (state.queue.length >= FULL_BATCH) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, LINGER_MS);
    function done() {
      clearTimeout(timer);
      state.wake = null;
      resolve();
    }
    state.wake = done;
  });
}

async function runBatches(ctx: PluginContext, state: DrainState, faults?: Faults): Promise<void> {
  // No await between the last emptiness check and clearing `running`: an op queued meanwhile
  // always finds either this loop still going or no loop, and then starts one.
  while (state.queue.length > 0) {
    await linger(state);
    const batch = state.queue.splice(0, MAX_BATCH);
    const retry = [...state.retry.values()];
    state.retry.clear();
    try {
      await drainLanded(ctx, batch, faults);
      for (const userId of retry) await drainUser(ctx, userId, faults);
    } catch (err) {
      for (const { userId } of batch) state.retry.set(userId.toHexString(), userId);
      for (const userId of retry) state.retry.set(userId.toHexString(), userId);
      ctx.logger.warn({ err }, "ledger drain failed; the next drain or recovery retries");
    }
  }
  state.running = null;
}

/** Waits for the ops still landing and the background drain in flight (shutdown, tests). */
export async function settleDrains(ctx: PluginContext): Promise<void> {
  const state = stateOf(ctx);
  // Ops still landing schedule their drain when they end: wait for them first, then the batches.
  while (state.landing.size > 0 || state.running) {
    if (state.landing.size > 0) await Promise.allSettled([...state.landing]);
    if (state.running) await state.running;
  }
}

/** Counts `done` among the ops still landing (settleDrains waits for them) until it settles. */
export function trackLanding(ctx: PluginContext, done: Promise<unknown>): void {
  const { landing } = stateOf(ctx);
  landing.add(done);
  const settled = () => {
    landing.delete(done);
  };
  done.then(settled, settled);
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
