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

  collection<T extends Doc = Doc>(name: string, options: CollectionOptions = {}): CollectionPort<T> {
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
    const terminal = (call: RepoCall) =>
      (raw[call.op as RepoOp] as (...a: unknown[]) => Promise<unknown>).apply(raw, call.args);
    const out: Partial<Record<RepoOp, (...args: unknown[]) => Promise<unknown>>> = {};
    for (const [op, kind] of KIND) {
      out[op] = (...args: unknown[]) =>
        this.pipeline.run({ collection: name, op, kind, args, state: seed ? { ...seed } : {} }, terminal);
    }
    return out as unknown as CollectionPort;
  }
}
