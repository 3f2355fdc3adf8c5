import { setupError } from "./errors";
import type { Doc } from "./ports/document-store";

export type CallKind = "read" | "write";

/**
 * The fixed set of phases a repository call passes through (Fastify's `lib/hooks.js` shape: a
 * hook names its phase and is checked against this list when it is registered):
 *
 * - `read` — an onion around the store read (`(call, next)`); may answer without the store.
 * - `beforeWrite` — before the store write, in load order: checks, argument rewrites (versions).
 * - `write` — an onion around the store write itself (observers, fault injection in tests).
 * - `afterWrite` — once the store acknowledged: `{ removed, after }` documents, computed once by
 *   the repository; caches follow the write here (write-through, list invalidation). Concurrent.
 * - `announce` — after every `afterWrite` hook: events, so none announces a version a cache does
 *   not hold yet. Concurrent. An `eager` announce hook starts right after the `afterWrite` hooks
 *   started, in the same tick, with `followed` (settled once they all did): it may announce only
 *   what it can check the cache holds already, and waits for `followed` for the rest (events:
 *   a publish on the cache's own connection right behind its write, plugins/cache/events).
 * - `result` — rewrites what the caller gets (reads and writes), in load order (sanitizing).
 */
export const PHASES = ["read", "beforeWrite", "write", "afterWrite", "announce", "result"] as const;
export type Phase = (typeof PHASES)[number];

/** Why a write happens: carried to its events (`reason`) and the ledger (`opId`). */
export interface WriteContext {
  readonly reason?: string;
  readonly opId?: string;
}

/** One repository call in the onion phases. Hooks may rewrite `args` before calling `next()`. */
export interface RepoCall {
  readonly collection: string;
  readonly op: string;
  readonly kind: CallKind;
  args: unknown[];
  /** The write's context (empty for reads). */
  readonly write: WriteContext;
  /** A read whose documents a cache stores: presentation hooks leave them as stored. */
  readonly asStored?: boolean;
}

/** What a write did, as `afterWrite` and `announce` hooks see it. */
export interface WriteChange {
  readonly collection: string;
  readonly op: string;
  /** The arguments the store received (after `beforeWrite`). */
  readonly args: readonly unknown[];
  readonly write: WriteContext;
  /** The store's answer. */
  readonly result: unknown;
  /** Deletes: the documents as they were before (whole); [] for other writes. */
  readonly removed: readonly Doc[];
  /** The written documents as the write left them (read once more where the store returns none). */
  readonly after: readonly Doc[];
  /**
   * For `eager` announce hooks: true once every `afterWrite` hook succeeded, false once one
   * failed (the write then fails and is not announced further). Never rejects.
   */
  readonly followed?: Promise<boolean>;
}

export type Next = () => Promise<unknown>;
export type RepoHook = (call: RepoCall, next: Next) => Promise<unknown>;
export type BeforeWriteHook = (call: RepoCall) => void | Promise<void>;
export type ChangeHook = (change: WriteChange) => void | Promise<void>;
export type ResultHook = (result: unknown, call: RepoCall) => unknown;

interface Target {
  /** Omitted: every collection (Prisma's `$allModels`). */
  collection?: string | readonly string[];
  /** Omitted: every operation of the phase (`$allOperations`). */
  op?: string | readonly string[];
}

/** A hook: the phase it serves, what it targets, and its function (typed by the phase). */
export type HookSpec = Target &
  (
    | { phase: "read" | "write"; run: RepoHook }
    | { phase: "beforeWrite"; run: BeforeWriteHook }
    | { phase: "afterWrite"; run: ChangeHook }
    | { phase: "announce"; run: ChangeHook; eager?: boolean }
    | { phase: "result"; run: ResultHook }
    /**
     * The first stage's shape: an onion around reads and/or writes (`kind`), i.e. the `read` and
     * `write` phases. Kept so hooks written before the phases still load.
     */
    | { phase?: undefined; kind?: CallKind; run: RepoHook }
  );

export type RegisteredHook = HookSpec & { plugin: string };

const matches = (want: string | readonly string[] | undefined, value: string) =>
  want === undefined || want === value || (Array.isArray(want) && want.includes(value));

/** True when `h` serves `phase` for this (collection, op). */
export function hookServes(
  h: HookSpec,
  phase: Phase,
  call: Pick<RepoCall, "collection" | "op" | "kind">,
): boolean {
  if (!matches(h.collection, call.collection) || !matches(h.op, call.op)) return false;
  if (h.phase !== undefined) return h.phase === phase;
  // First-stage hook: an onion in the phase of its call's kind.
  return phase === (call.kind === "read" ? "read" : "write") && (!h.kind || h.kind === call.kind);
}

/**
 * Koa/Hono-style compose: the first hook is the outermost layer. Calling `next()` twice from one
 * hook is a bug that would run the store twice (a double write), so it throws.
 */
export function compose(
  hooks: readonly RepoHook[],
  terminal: (call: RepoCall) => Promise<unknown>,
) {
  const n = hooks.length;
  return function run(call: RepoCall): Promise<unknown> {
    let index = -1;
    const dispatch = (i: number): Promise<unknown> => {
      if (i <= index) return Promise.reject(setupError("CS_ERR_HOOK_NEXT_TWICE"));
      index = i;
      if (i === n) return terminal(call);
      try {
        return (hooks[i] as RepoHook)(call, () => dispatch(i + 1));
      } catch (err) {
        return Promise.reject(err);
      }
    };
    return dispatch(0);
  };
}

/** Every phase's hooks for one (collection, op), in load order. */
export interface PhaseHooks {
  onion: RepoHook[];
  beforeWrite: BeforeWriteHook[];
  afterWrite: ChangeHook[];
  announce: ChangeHook[];
  /** `announce` hooks marked `eager`, started beside the `afterWrite` hooks (not in `announce`). */
  eagerAnnounce: ChangeHook[];
  result: ResultHook[];
}

/**
 * Hooks sorted per (collection, op) and phase once; the repository resolves each operation's
 * hooks on first use after the app sealed the list, so a call pays no matching cost.
 */
export class HookPipeline {
  private sealed = false;
  constructor(private readonly hooks: readonly RegisteredHook[]) {}

  /** Called once every plugin's hooks are registered; chains resolved before would be wrong. */
  seal(): void {
    this.sealed = true;
  }

  get isSealed(): boolean {
    return this.sealed;
  }

  private serving<F>(phase: Phase, call: Pick<RepoCall, "collection" | "op" | "kind">): F[] {
    return this.hooks.filter((h) => hookServes(h, phase, call)).map((h) => h.run as F);
  }

  private announcing(call: Pick<RepoCall, "collection" | "op" | "kind">, eager: boolean) {
    return this.hooks
      .filter(
        (h) => hookServes(h, "announce", call) && ("eager" in h && h.eager === true) === eager,
      )
      .map((h) => h.run as ChangeHook);
  }

  phases(collection: string, op: string, kind: CallKind): PhaseHooks {
    const call = { collection, op, kind };
    const write = kind === "write";
    return {
      onion: this.serving<RepoHook>(write ? "write" : "read", call),
      beforeWrite: write ? this.serving<BeforeWriteHook>("beforeWrite", call) : [],
      afterWrite: write ? this.serving<ChangeHook>("afterWrite", call) : [],
      announce: write ? this.announcing(call, false) : [],
      eagerAnnounce: write ? this.announcing(call, true) : [],
      result: this.serving<ResultHook>("result", call),
    };
  }

  /** The onion for one (collection, op): the terminal alone when no hook applies. */
  runner(
    collection: string,
    op: string,
    kind: CallKind,
    terminal: (call: RepoCall) => Promise<unknown>,
  ) {
    const list = this.phases(collection, op, kind).onion;
    return list.length === 0 ? terminal : compose(list, terminal);
  }
}

const READ_PHASES = new Set<Phase>(["read"]);
const WRITE_PHASES = new Set<Phase>(["beforeWrite", "write", "afterWrite", "announce"]);

/**
 * Checks one hook at registration: a known phase, a function, and ops that exist in that phase.
 * Returns the problem, or null.
 */
export function hookProblem(
  h: HookSpec,
  readOps: readonly string[],
  writeOps: readonly string[],
): string | null {
  if (!h || typeof h.run !== "function") return "declares a hook without run()";
  if (h.phase !== undefined && !(PHASES as readonly string[]).includes(h.phase))
    return `declares a hook for an unknown phase "${String(h.phase)}" (phases: ${PHASES.join(", ")})`;
  const ops = h.op === undefined ? [] : typeof h.op === "string" ? [h.op] : [...h.op];
  const allowed =
    h.phase && READ_PHASES.has(h.phase)
      ? readOps
      : h.phase && WRITE_PHASES.has(h.phase)
        ? writeOps
        : [...readOps, ...writeOps];
  const bad = ops.find((op) => !allowed.includes(op));
  if (bad)
    return `declares a ${h.phase ?? "repository"} hook for "${bad}", which that phase never sees`;
  return null;
}

export type { Doc };
