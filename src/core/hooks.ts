import { AppError } from "./errors";

export type CallKind = "read" | "write";

/**
 * One repository call as it travels through the onion. Hooks may rewrite `args` before calling
 * `next()` and may replace the result after it. `state` is private to this call and shared by
 * every hook along the way (a cache-aside hook can tell the metrics hook it was a hit).
 */
export interface RepoCall {
  readonly collection: string;
  readonly op: string;
  readonly kind: CallKind;
  args: unknown[];
  readonly state: Record<string, unknown>;
}

export type Next = () => Promise<unknown>;
export type RepoHook = (call: RepoCall, next: Next) => Promise<unknown>;

/**
 * Where a hook applies. Omitted fields are the catch-all (`$allModels` / `$allOperations` in
 * Prisma's `$extends`), so `{ run }` alone sees every call.
 */
export interface HookSpec {
  collection?: string | readonly string[];
  op?: string | readonly string[];
  kind?: CallKind;
  run: RepoHook;
}

export interface RegisteredHook extends HookSpec {
  plugin: string;
}

const matches = (want: string | readonly string[] | undefined, value: string) =>
  want === undefined || want === value || (Array.isArray(want) && want.includes(value));

export function hookApplies(
  h: HookSpec,
  call: Pick<RepoCall, "collection" | "op" | "kind">,
): boolean {
  return (
    matches(h.collection, call.collection) &&
    matches(h.op, call.op) &&
    (!h.kind || h.kind === call.kind)
  );
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
      if (i <= index)
        return Promise.reject(
          new AppError("CS_ERR_HOOK_NEXT_TWICE", 500, "next() called multiple times"),
        );
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

/**
 * Hooks filtered per (collection, op) once; the repository resolves each operation's composed
 * chain on first use after the app sealed the list, so a hot read pays no matching cost.
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

  for(collection: string, op: string, kind: CallKind): RepoHook[] {
    return this.hooks.filter((h) => hookApplies(h, { collection, op, kind })).map((h) => h.run);
  }

  /** The runner for one (collection, op): the terminal alone when no hook applies. */
  runner(
    collection: string,
    op: string,
    kind: CallKind,
    terminal: (call: RepoCall) => Promise<unknown>,
  ) {
    const list = this.for(collection, op, kind);
    return list.length === 0 ? terminal : compose(list, terminal);
  }
}
