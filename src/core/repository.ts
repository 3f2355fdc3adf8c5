import type { HookPipeline, RepoCall } from "./hooks";
import {
  type CollectionPort,
  type Doc,
  type DocumentStore,
  READ_OPS,
  type RepoOp,
  WRITE_OPS,
} from "./ports/document-store";

export interface CollectionOptions {
  /**
   * false skips every hook (Mongoose's `{ middleware: false }`): the raw document, secrets
   * included, straight from the store. Only for login and the validator.
   */
  hooks?: boolean;
  /** Seeds `call.state` (e.g. `{ reason, opId }` for the events plugin). */
  state?: Record<string, unknown>;
}

const KIND = new Map<RepoOp, "read" | "write">([
  ...READ_OPS.map((op) => [op, "read"] as const),
  ...WRITE_OPS.map((op) => [op, "write"] as const),
]);

/**
 * The repository every service uses: the store's collections, each call routed through the
 * plugins' onion. Hooks see `{ collection, op, kind, args, state }`.
 */
export class Repository {
  private readonly hooked = new Map<string, CollectionPort>();

  constructor(
    readonly store: DocumentStore,
    private readonly pipeline: HookPipeline,
  ) {}

  collection<T extends Doc = Doc>(
    name: string,
    options: CollectionOptions = {},
  ): CollectionPort<T> {
    if (options.hooks === false) return this.store.collection<T>(name);
    if (!options.state) {
      let c = this.hooked.get(name);
      if (!c) {
        c = this.build(name, undefined);
        this.hooked.set(name, c);
      }
      return c as unknown as CollectionPort<T>;
    }
    return this.build(name, options.state) as unknown as CollectionPort<T>;
  }

  private build(name: string, seed: Record<string, unknown> | undefined): CollectionPort {
    const raw = this.store.collection(name);
    const out: Partial<Record<RepoOp, (...args: unknown[]) => Promise<unknown>>> = {};
    for (const [op, kind] of KIND) {
      const method = raw[op] as (...a: unknown[]) => Promise<unknown>;
      const terminal = (call: RepoCall) => method.apply(raw, call.args);
      let run: ((call: RepoCall) => Promise<unknown>) | undefined;
      out[op] = (...args: unknown[]) => {
        const call: RepoCall = { collection: name, op, kind, args, state: seed ? { ...seed } : {} };
        if (run) return run(call);
        const r = this.pipeline.runner(name, op, kind, terminal);
        if (this.pipeline.isSealed) run = r;
        return r(call);
      };
    }
    return out as unknown as CollectionPort;
  }
}
