import type { HookSpec } from "../../../../src/core/hooks";
import type { PluginContext } from "../../../../src/core/plugin";
import type { ChangeEvent, IndexSpec } from "../../../../src/core/ports/document-store";
import type { CacheCore } from "../core";
import type { OwnerListDeclaration } from "./declaration";
import { memberWriteHooks } from "./member-writes";
import { type ListMetrics, listMetrics } from "./metrics";
import { applyOutsideChange } from "./outside-changes";
import { listKey, OwnerList } from "./owner-list";
import { ListVersions } from "./versions";

export type { OwnerListDeclaration, OwnerListOptions } from "./declaration";
export { type ListRead, listKey, OwnerList } from "./owner-list";
export { type OwnerListReader, type OwnerListReaders, ownerListReaders } from "./readers";
export { LIST_VERSIONS_COLLECTION } from "./versions";

/** What other plugins use: the declared lists by stored name, and the change-stream entry point. */
export interface OwnerLists {
  list(name: string): OwnerList;
  /** The member collections (for the change stream to watch). */
  readonly collections: readonly string[];
  /** A member change made outside the service (change streams). */
  applyChange(e: ChangeEvent): Promise<"skipped" | "changed">;
  /** Empties every list entry (changes were missed: a lost change-stream position). */
  dropAll(): Promise<number>;
}

declare module "../../../../src/core/plugin" {
  interface Services {
    ownerLists: OwnerLists;
  }
}

/**
 * Every owner list the cached collections declared (their `lists`), under the cache engine's
 * version, lease and repair rules (docs/CONSISTENCY.md, "Owner lists"). The engine adds a
 * collection's lists when the collection is declared; their member write hooks are read once
 * every plugin registered.
 */
export class OwnerListSet implements OwnerLists {
  private readonly byName = new Map<string, OwnerList>();
  private readonly byCollection = new Map<string, OwnerList[]>();
  private readonly versions: ListVersions;
  private readonly metrics: ListMetrics;

  constructor(
    private readonly ctx: PluginContext,
    private readonly core: CacheCore,
  ) {
    this.versions = new ListVersions(ctx.stores.db);
    this.metrics = listMetrics(ctx.metrics);
  }

  /** One declared list; its stored name is unique across collections (its key and counter). */
  add(d: OwnerListDeclaration): OwnerList {
    if (this.byName.has(d.name)) throw new Error(`owner list "${d.name}" is declared twice`);
    const list = new OwnerList(d, this.ctx, this.core, this.versions, this.metrics);
    this.byName.set(d.name, list);
    this.byCollection.set(d.collection, [...(this.byCollection.get(d.collection) ?? []), list]);
    return list;
  }

  list(name: string): OwnerList {
    const l = this.byName.get(name);
    if (!l) throw new Error(`no owner list "${name}" is declared`);
    return l;
  }

  get collections(): readonly string[] {
    return [...this.byCollection.keys()];
  }

  applyChange(e: ChangeEvent): Promise<"skipped" | "changed"> {
    return applyOutsideChange(this.byCollection.get(e.collection) ?? [], e);
  }

  /** SCAN, never KEYS; an emptied key refills under a lease like after a write. */
  async dropAll(): Promise<number> {
    const cache = this.ctx.stores.cache;
    let n = 0;
    await cache.scan(listKey(this.ctx.config.CACHE_PREFIX, "*", "*"), async (keys) => {
      n += await cache.del(keys);
    });
    return n;
  }

  /** The write hooks of every member collection (each wraps every write to it). */
  hooks(): HookSpec[] {
    return [...this.byCollection].map(([collection, lists]) =>
      memberWriteHooks(collection, lists, this.core, this.ctx.stores.db),
    );
  }

  /** A fill's query per list: owner, then the sort, on each member collection. */
  indexes(): IndexSpec[] {
    return [...this.byName.values()].map(({ declaration: d }) => ({
      collection: d.collection,
      key: { [d.owner]: 1 as const, ...d.sort },
    }));
  }
}
