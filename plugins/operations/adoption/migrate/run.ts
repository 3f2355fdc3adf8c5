import type { ObjectId } from "bson";
import pMap from "p-map";
import { DuplicateKeyError } from "../../../../src/core/errors";
import type { PluginContext } from "../../../../src/core/plugin";
import type { IndexSpec } from "../../../../src/core/ports/document-store";
import { sanitizedUsers, USER_COLLECTION, USER_INDEXES } from "../../../features/users";
import { LEDGER_COLLECTION, WALLET_INDEXES } from "../../../features/wallet";
import { readBalance } from "../balance-value";
import { inBatches } from "../batches";
import { type LedgerSums, ledgerSums } from "../ledger-sum";
import { openingEntry } from "./opening-entry";
import { planUserFix, type Refusal } from "./user-fix";

export type StepName =
  | "indexes"
  | "version"
  | "wallet"
  | "balance"
  | "email"
  | "username"
  | "opening";

export interface MigrateOptions {
  /** Report what would change; write nothing. */
  dryRun?: boolean;
  /** Minor units per major unit (100 for cents): converts float/string/Decimal128 balances. */
  currencyScale?: number;
  batchSize?: number;
  /** Pause between batches, to leave room for the API's traffic. */
  pauseMs?: number;
  /** Ignore a checkpoint left by a killed run and start from the first user. */
  restart?: boolean;
  progress?: (line: string) => void;
  /** Test only: runs between the first user read and the ledger read of an opening snapshot. */
  betweenSnapshotReads?: () => Promise<void>;
  /** Test only (refused unless NODE_ENV=test): skip the snapshot's version comparison. */
  unprotectedSnapshot?: boolean;
}

export interface MigrationReport {
  dryRun: boolean;
  /** Documents (or indexes) changed, per step. A second run reports zeros. */
  changed: Record<StepName, number>;
  refused: Refusal[];
  users: number;
  resumedAfter: string | null;
}

const CHECKPOINT_COLLECTION = "cachesync_migrations";
const CHECKPOINT_ID = "adopt";
/**
 * A user whose guarded write or snapshot keeps missing (an account moving while it is read) is
 * read again this many times within its batch, then put aside so one hot account does not hold
 * up the scan; the users put aside are settled after the scan with `FINAL_ATTEMPTS` reads.
 */
const MAX_ATTEMPTS = 8;
const FINAL_ATTEMPTS = 60;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Before the n-th retry: growing, capped, and jittered so a retry does not keep falling into
 * the same phase of a client's request loop. */
const backoff = (n: number) => sleep(Math.min(10 * n, 150) * (0.5 + Math.random()));

/**
 * Brings a database written by another application to the invariants cachesync relies on.
 * Idempotent (every change is guarded by what it was computed from, the opening entry is unique
 * by opId), resumable (a checkpoint per batch), and safe beside a serving API: user writes go
 * through the hooked repository, so versions are bumped and the cache is written through, and the
 * opening balance is read from a consistent snapshot of balance and ledger (see `openBatch`).
 */
export async function runMigration(
  ctx: PluginContext,
  opts: MigrateOptions = {},
): Promise<MigrationReport> {
  if (opts.unprotectedSnapshot && ctx.config.NODE_ENV !== "test")
    throw new Error("unprotectedSnapshot is a test-only switch (NODE_ENV=test)");
  const batchSize = opts.batchSize ?? 500;
  const say = opts.progress ?? (() => {});
  const dryRun = opts.dryRun ?? false;
  const report: MigrationReport = {
    dryRun,
    changed: { indexes: 0, version: 0, wallet: 0, balance: 0, email: 0, username: 0, opening: 0 },
    refused: [],
    users: 0,
    resumedAfter: null,
  };

  // The opening entries' exactly-once rests on the unique opId index: it comes first.
  const ledgerReady = await ensureIndexes(ctx, WALLET_INDEXES, report, dryRun);
  const duplicates = await caseInsensitiveDuplicates(ctx, batchSize);

  const checkpoints = ctx.stores.db.collection(CHECKPOINT_COLLECTION);
  const saved = opts.restart || dryRun ? null : await checkpoints.findOne({ _id: CHECKPOINT_ID });
  const after = (saved?.lastId as ObjectId | undefined) ?? undefined;
  // Users put aside by this run (or by the interrupted run it resumes), settled after the scan:
  // those whose fix kept missing, and those whose opening snapshot did.
  const aside = (field: string) =>
    new Map(((saved?.[field] as ObjectId[] | undefined) ?? []).map((id) => [id.toHexString(), id]));
  const unfixed = aside("unfixed");
  const unopened = aside("unopened");
  if (after) {
    report.resumedAfter = after.toHexString();
    say(`resuming after user ${report.resumedAfter} (checkpoint of an interrupted run)`);
  }
  const total = await ctx.stores.db.collection(USER_COLLECTION).countDocuments({});
  let seen = 0;
  for await (const batch of inBatches(ctx.stores.db.collection(USER_COLLECTION), batchSize, {
    after,
  })) {
    // A few users at a time: each write is one guarded round trip (plus the cache's).
    const fixed = await pMap(
      batch,
      (doc) => fixUser(ctx, doc, { ...opts, dryRun, ...duplicates }, report, MAX_ATTEMPTS),
      { concurrency: 8 },
    );
    for (const [i, d] of batch.entries()) if (!fixed[i]) unfixed.set(d._id.toHexString(), d._id);
    if (ledgerReady) {
      const ids = batch.map((d) => d._id);
      for (const id of await openBatch(ctx, ids, report, MAX_ATTEMPTS, { ...opts, dryRun }))
        unopened.set(id.toHexString(), id);
    }
    seen += batch.length;
    report.users += batch.length;
    const lastId = (batch[batch.length - 1] as { _id: ObjectId })._id;
    if (!dryRun)
      await checkpoints.updateOne(
        { _id: CHECKPOINT_ID },
        {
          $set: {
            lastId,
            unfixed: [...unfixed.values()],
            unopened: [...unopened.values()],
            updatedAt: new Date(),
          },
        },
        { upsert: true },
      );
    say(`users ${seen}/${total}${after ? " (after checkpoint)" : ""}: ${summary(report)}`);
    if (opts.pauseMs) await sleep(opts.pauseMs);
  }

  if (unfixed.size + unopened.size > 0) {
    say(
      `settling ${new Set([...unfixed.keys(), ...unopened.keys()]).size} users that were changing while read`,
    );
    const fixOpts = { ...opts, dryRun, ...duplicates };
    await settleAside(
      ctx,
      [...unfixed.values()],
      [...unopened.values()],
      fixOpts,
      ledgerReady,
      report,
    );
  }

  // Unique user indexes last: they can only be built once emails are normalised.
  await ensureIndexes(ctx, USER_INDEXES, report, dryRun);
  if (!dryRun) await checkpoints.deleteOne({ _id: CHECKPOINT_ID });
  return report;
}

function summary(r: MigrationReport): string {
  const changed = Object.entries(r.changed)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
  return `${changed || "nothing changed"}; ${r.refused.length} refused`;
}

async function ensureIndexes(
  ctx: PluginContext,
  specs: readonly IndexSpec[],
  report: MigrationReport,
  dryRun: boolean,
): Promise<boolean> {
  let ok = true;
  for (const spec of specs) {
    const present = await ctx.stores.db.listIndexes(spec.collection);
    const key = JSON.stringify(spec.key);
    if (present.some((i) => JSON.stringify(i.key) === key && (!spec.unique || i.unique))) continue;
    if (dryRun) {
      report.changed.indexes++;
      continue;
    }
    try {
      await ctx.stores.db.ensureIndexes([spec]);
      report.changed.indexes++;
    } catch (err) {
      if (spec.unique) ok = false;
      report.refused.push({
        check: "index.missing",
        id: spec.name ?? key,
        detail: `${spec.collection}: ${(err as Error).message}`,
      });
    }
  }
  return ok;
}

/**
 * Lower-cased emails and usernames held by more than one user: those are reported, never
 * merged (one pass, two fields).
 */
async function caseInsensitiveDuplicates(ctx: PluginContext, batchSize: number) {
  const fields = ["email", "username"] as const;
  const seen = { email: new Set<string>(), username: new Set<string>() };
  const dup = { email: new Set<string>(), username: new Set<string>() };
  for await (const batch of inBatches(ctx.stores.db.collection(USER_COLLECTION), batchSize * 4, {
    projection: { email: 1, username: 1 },
  })) {
    for (const u of batch)
      for (const f of fields) {
        const v = u[f];
        if (typeof v !== "string") continue;
        const lower = v.toLowerCase();
        if (seen[f].has(lower)) dup[f].add(lower);
        seen[f].add(lower);
      }
  }
  return { duplicateEmails: dup.email, duplicateUsernames: dup.username };
}

type FixOptions = MigrateOptions & {
  dryRun: boolean;
  duplicateEmails: ReadonlySet<string>;
  duplicateUsernames: ReadonlySet<string>;
};

/** False when the user kept changing through `attempts` guarded writes (nothing applied). */
async function fixUser(
  ctx: PluginContext,
  read: Record<string, unknown> & { _id: ObjectId },
  opts: FixOptions,
  report: MigrationReport,
  attempts: number,
): Promise<boolean> {
  const { _id } = read;
  let doc: Record<string, unknown> | null = read;
  for (let attempt = 0; doc && attempt < attempts; attempt++) {
    const { fix, refusals } = planUserFix(doc, opts);
    if (!fix || opts.dryRun) {
      report.refused.push(...refusals);
      for (const step of fix?.steps ?? []) report.changed[step]++;
      return true;
    }
    // Through the hooked repository: the version is bumped and the cache written through.
    const updated = await sanitizedUsers(ctx).findOneAndUpdate(
      { _id, ...fix.guard },
      { $set: fix.set },
    );
    if (updated) {
      report.refused.push(...refusals);
      for (const step of fix.steps) report.changed[step]++;
      return true;
    }
    if (attempt > 0) await backoff(attempt);
    doc = await ctx.stores.db.collection(USER_COLLECTION).findOne({ _id });
  }
  return !doc;
}

/**
 * The users put aside during the scan, with a longer budget: first the fixes that kept missing,
 * then the opening snapshots (of those, and of the users the fix held back). A user still moving
 * after that is reported (`user.ledger.in-flight`: run the migration again), never guessed.
 */
async function settleAside(
  ctx: PluginContext,
  unfixed: ObjectId[],
  unopened: ObjectId[],
  opts: FixOptions,
  ledgerReady: boolean,
  report: MigrationReport,
): Promise<void> {
  const raw = ctx.stores.db.collection(USER_COLLECTION);
  const toOpen = new Map(unopened.map((id) => [id.toHexString(), id]));
  const inFlight = (id: string, detail: string) =>
    report.refused.push({ check: "user.ledger.in-flight", id, detail });
  for (const _id of unfixed) {
    const doc = await raw.findOne({ _id });
    if (!doc) continue;
    if (await fixUser(ctx, doc, opts, report, FINAL_ATTEMPTS)) toOpen.set(_id.toHexString(), _id);
    else {
      toOpen.delete(_id.toHexString());
      inFlight(_id.toHexString(), "kept changing under the migration; run it again");
    }
  }
  if (!ledgerReady) return;
  for (const id of await openBatch(ctx, [...toOpen.values()], report, FINAL_ATTEMPTS, opts))
    inFlight(id.toHexString(), "balance kept changing; run the migration again");
}

/**
 * Opening-balance entries for a batch, from a consistent snapshot: the users (read 1), their
 * ledgers, the users again (read 2). Every balance change lands in one hooked update that moves
 * the balance, bumps `version` and pushes the op into `ledgerOutbox`; the drain then writes the
 * applied ledger row before it pulls the op from the outbox (a raw write: no version bump). So
 * when both reads agree on the version, no op landed in between, every applied row read belongs
 * to an op already in read 1's balance, and that balance is those rows plus read 1's outbox ops
 * not yet applied. Pending intent rows do not count either way: an op is in the balance only once
 * it is in the outbox. Users caught mid-change are read again, `rounds` times; those still moving
 * are returned, nothing written for them.
 */
async function openBatch(
  ctx: PluginContext,
  ids: ObjectId[],
  report: MigrationReport,
  rounds: number,
  opts: MigrateOptions & { dryRun: boolean },
): Promise<ObjectId[]> {
  const { dryRun } = opts;
  const raw = ctx.stores.db.collection(USER_COLLECTION);
  const projection = { version: 1, wallet: 1, ledgerOutbox: 1, createdAt: 1 } as const;
  let todo = ids;
  for (let round = 0; round < rounds && todo.length > 0; round++) {
    if (round > 0) await backoff(round);
    const first = await raw.find({ _id: { $in: todo } }, { projection });
    await opts.betweenSnapshotReads?.();
    const sums = await ledgerSums(ctx.stores.db, todo);
    const second = new Map(
      (await raw.find({ _id: { $in: todo } }, { projection: { version: 1 } })).map((d) => [
        d._id.toHexString(),
        d,
      ]),
    );
    const again: ObjectId[] = [];
    for (const u of first) {
      const id = u._id.toHexString();
      const balance = readBalance((u.wallet as { balance?: unknown } | undefined)?.balance);
      if (balance.kind !== "minor") continue; // refused (or left) by fixUser already
      const later = second.get(id);
      if (!later) continue;
      if (later.version !== u.version && !opts.unprotectedSnapshot) {
        again.push(u._id);
        continue;
      }
      const diff = balance.minor - (sums.applied.get(id) ?? 0) - notYetLedgered(u, sums);
      if (diff === 0) continue;
      if (sums.opened.has(id)) {
        report.refused.push({
          check: "user.ledger.mismatch",
          id,
          detail: `ledger is off by ${diff} although it has its opening entry`,
        });
        continue;
      }
      if (dryRun) {
        report.changed.opening++;
        continue;
      }
      try {
        await ctx.stores.db
          .collection(LEDGER_COLLECTION)
          .insertOne(openingEntry(u._id, diff, u.createdAt));
        report.changed.opening++;
      } catch (err) {
        // Another run (or a killed one) wrote it first: the unique opId keeps it single.
        if (!(err instanceof DuplicateKeyError)) throw err;
      }
    }
    todo = again;
  }
  return todo;
}

/** The ops a user document's `ledgerOutbox` holds whose ledger row was not applied yet. */
function notYetLedgered(user: Record<string, unknown>, sums: LedgerSums): number {
  const box = Array.isArray(user.ledgerOutbox) ? user.ledgerOutbox : [];
  let sum = 0;
  for (const e of box as { opId?: unknown; amount?: unknown }[])
    if (!sums.appliedOps.has(String(e.opId))) sum += Number(e.amount);
  return sum;
}
