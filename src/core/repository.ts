import type { ObjectId } from "bson";
import {
  compose,
  type HookPipeline,
  type PhaseHooks,
  type RepoCall,
  type WriteChange,
  type WriteContext,
} from "./hooks";
import {
  type CollectionPort,
  type Doc,
  type DocumentStore,
  type Filter,
  type FindOneAndUpdateOptions,
  READ_OPS,
  type RepoOp,
  type UpdateResult,
  WRITE_OPS,
} from "./ports/document-store";

export interface CollectionOptions {
  /**
   * false skips every hook (Mongoose's `{ middleware: false }`): the raw document, secrets
   * included, straight from the store. Only for login and the validator.
   */
  hooks?: boolean;
  /**
   * Reads whose documents a cache stores (a cache-aside fill): hooks that only change how a
   * document is shown (write-behind's merge of queued changes) leave it as stored, so the cache
   * holds MongoDB's document and shows the rest when read (RepoCall.asStored).
   */
  asStored?: boolean;
  /** Why the writes through this handle happen (`reason` for events, `opId` for the ledger). */
  write?: WriteContext;
}

const NO_CONTEXT: WriteContext = Object.freeze({});

const KIND = new Map<RepoOp, "read" | "write">([
  ...READ_OPS.map((op) => [op, "read"] as const),
  ...WRITE_OPS.map((op) => [op, "write"] as const),
]);

type Method = (...args: unknown[]) => Promise<unknown>;
type Runner = (call: RepoCall) => Promise<unknown>;
const yes = () => true;
const no = () => false;

/**
 * The repository every service uses: the store's collections, each call taken through the
 * plugins' hooks phase by phase (src/core/hooks.ts). For writes it computes, once, what the
 * `afterWrite` and `announce` hooks are given: the documents a delete removed (read before it)
 * and the documents as the write left them (the store's answer, or one read after it).
 */
export class Repository {
  private readonly hooked = new Map<string, CollectionPort>();
  private readonly runners = new Map<string, Record<RepoOp, Runner>>();

  constructor(
    private readonly store: DocumentStore,
    private readonly pipeline: HookPipeline,
  ) {}

  collection<T extends Doc = Doc>(
    name: string,
    options: CollectionOptions = {},
  ): CollectionPort<T> {
    if (options.hooks === false) return this.store.collection<T>(name);
    const asStored = options.asStored === true;
    if (!options.write) {
      const key = asStored ? `${name}\0stored` : name;
      let c = this.hooked.get(key);
      if (!c) {
        c = this.build(name, NO_CONTEXT, asStored);
        this.hooked.set(key, c);
      }
      return c as unknown as CollectionPort<T>;
    }
    return this.build(
      name,
      Object.freeze({ ...options.write }),
      asStored,
    ) as unknown as CollectionPort<T>;
  }

  private build(name: string, write: WriteContext, asStored = false): CollectionPort {
    const runners = this.runnersOf(name);
    const out: Partial<Record<RepoOp, Method>> = {};
    for (const [op, kind] of KIND) {
      const runner = runners[op];
      out[op] = (...args: unknown[]) =>
        runner({ collection: name, op, kind, args, write, asStored });
    }
    return out as unknown as CollectionPort;
  }

  /**
   * Each operation's hook chain for one collection, resolved on first use once the pipeline is
   * sealed and kept per collection: a handle built per write context (every balance change has
   * its own) reuses them instead of resolving its hooks again.
   */
  private runnersOf(name: string): Record<RepoOp, Runner> {
    const known = this.runners.get(name);
    if (known) return known;
    const raw = this.store.collection(name);
    const out: Partial<Record<RepoOp, Runner>> = {};
    for (const [op, kind] of KIND) {
      const method = raw[op] as Method;
      const terminal = (call: RepoCall) => method.apply(raw, call.args);
      let resolved: Runner | undefined;
      const resolve = () => {
        const hooks = this.pipeline.phases(name, op, kind);
        const run =
          kind === "read" ? this.reader(hooks, terminal) : this.writer(raw, hooks, terminal);
        if (this.pipeline.isSealed) resolved = run;
        return run;
      };
      out[op] = (call) => (resolved ?? resolve())(call);
    }
    const runners = out as Record<RepoOp, Runner>;
    this.runners.set(name, runners);
    return runners;
  }

  private reader(hooks: PhaseHooks, terminal: (call: RepoCall) => Promise<unknown>) {
    const chain = onion(hooks, terminal);
    if (hooks.result.length === 0) return chain;
    return (call: RepoCall) => chain(call).then((r) => shape(hooks, r, call));
  }

  private writer(
    raw: CollectionPort,
    hooks: PhaseHooks,
    terminal: (call: RepoCall) => Promise<unknown>,
  ) {
    const chain = onion(hooks, terminal);
    const eager = hooks.eagerAnnounce;
    const observed = hooks.afterWrite.length + hooks.announce.length + eager.length > 0;
    return async (call: RepoCall) => {
      for (const h of hooks.beforeWrite) await h(call);
      const matched = observed ? await matchedBefore(raw, call) : [];
      const result = await chain(call);
      if (observed) {
        const change: WriteChange = {
          collection: call.collection,
          op: call.op,
          args: call.args,
          write: call.write,
          result,
          removed: call.op.startsWith("delete") ? matched : [],
          after: await writtenAfter(raw, call, result, matched),
        };
        const following = Promise.all(hooks.afterWrite.map((h) => h(change)));
        // Started in the same tick as the afterWrite hooks (hooks.ts, `eager`).
        const early =
          eager.length > 0
            ? Promise.all(eager.map((h) => h({ ...change, followed: following.then(yes, no) })))
            : undefined;
        try {
          await following;
        } finally {
          // Never left running past the write's answer, even when an afterWrite hook failed.
          if (early) await early;
        }
        await Promise.all(hooks.announce.map((h) => h(change)));
      }
      return shape(hooks, result, call);
    };
  }
}

const onion = (hooks: PhaseHooks, terminal: (call: RepoCall) => Promise<unknown>) =>
  hooks.onion.length === 0 ? terminal : compose(hooks.onion, terminal);

function shape(hooks: PhaseHooks, result: unknown, call: RepoCall): unknown {
  let out = result;
  for (const h of hooks.result) out = h(out, call);
  return out;
}

const SINGLE = new Set(["updateOne", "deleteOne"]);

/** Before an update or delete: what it will touch (deletes: whole documents; updates: ids). */
async function matchedBefore(raw: CollectionPort, call: RepoCall): Promise<Doc[]> {
  if (call.op === "insertOne" || call.op === "findOneAndUpdate") return [];
  const single = SINGLE.has(call.op);
  return raw.find(call.args[0] as Filter, {
    ...(call.op.startsWith("delete") ? {} : { projection: { _id: 1 } }),
    ...(single ? { limit: 1 } : {}),
  });
}

/** After a write: the documents as it left them, read once where the store returned none. */
async function writtenAfter(
  raw: CollectionPort,
  call: RepoCall,
  result: unknown,
  matched: readonly Doc[],
): Promise<Doc[]> {
  if (call.op.startsWith("delete")) return [];
  if (call.op === "insertOne") return result ? [result as Doc] : [];
  if (call.op === "findOneAndUpdate") {
    const doc = result as Doc | null;
    if (!doc) return [];
    const opts = call.args[2] as FindOneAndUpdateOptions | undefined;
    if (opts?.returnDocument !== "before") return [doc];
    const now = await raw.findOne({ _id: doc._id });
    return now ? [now] : [];
  }
  const ids: ObjectId[] = matched.map((d) => d._id);
  const upserted = (result as UpdateResult | null)?.upsertedId;
  if (upserted) ids.push(upserted);
  if (ids.length === 0) return [];
  return raw.find({ _id: { $in: ids } });
}
