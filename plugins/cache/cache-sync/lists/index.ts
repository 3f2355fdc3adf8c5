import type { Plugin, PluginContext } from "../../../../src/core/plugin";
import type { ChangeEvent } from "../../../../src/core/ports/document-store";
import type { CacheCore } from "../core";
import { checkDeclaration, type OwnerListDeclaration } from "./declaration";
import { memberWriteHooks } from "./member-writes";
import { listMetrics } from "./metrics";
import { applyOutsideChange } from "./outside-changes";
import { listKey, OwnerList } from "./owner-list";
import { ListVersions } from "./versions";

export type { OwnerListDeclaration } from "./declaration";

/** SCAN, never KEYS; an emptied key refills under a lease like after a write. */
async function dropAll(ctx: PluginContext): Promise<number> {
  let n = 0;
  await ctx.stores.cache.scan(listKey(ctx.config.CACHE_PREFIX, "*", "*"), async (keys) => {
    n += await ctx.stores.cache.del(keys);
  });
  return n;
}

export { type ListRead, listKey, OwnerList } from "./owner-list";
export { LIST_VERSIONS_COLLECTION } from "./versions";

/** What other plugins use: the declared lists by name, and the change-stream entry point. */
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
 * Owner-scoped lists under the cache engine's version, lease and repair rules
 * (docs/CONSISTENCY.md, "Owner lists"). Generic: each declaration names its member collection,
 * owner field, sort and limit. Load it after cache-sync; its write hooks wrap every write to a
 * member collection.
 */
export function ownerListsPlugin(options: { lists: readonly OwnerListDeclaration[] }): Plugin {
  const declarations = options.lists;
  for (const d of declarations) checkDeclaration(d);
  const names = new Set<string>();
  for (const d of declarations) {
    if (names.has(d.name)) throw new Error(`owner list "${d.name}" is declared twice`);
    names.add(d.name);
  }
  const byName = new Map<string, OwnerList>();
  const byCollection = new Map<string, OwnerList[]>();
  let core: CacheCore;
  return {
    name: "owner-lists",
    dependencies: ["cache-sync"],
    register(ctx) {
      core = ctx.use("cacheEngine").core;
      const versions = new ListVersions(ctx.stores.db);
      const metrics = listMetrics(ctx.metrics);
      for (const d of declarations) {
        const list = new OwnerList(d, ctx, core, versions, metrics);
        byName.set(d.name, list);
        byCollection.set(d.collection, [...(byCollection.get(d.collection) ?? []), list]);
      }
      ctx.provide("ownerLists", {
        list(name) {
          const l = byName.get(name);
          if (!l) throw new Error(`no owner list "${name}" is declared`);
          return l;
        },
        collections: [...byCollection.keys()],
        applyChange: (e) => applyOutsideChange(byCollection.get(e.collection) ?? [], e),
        dropAll: () => dropAll(ctx),
      });
    },
    hooks: (ctx) =>
      [...byCollection].map(([collection, lists]) =>
        memberWriteHooks(collection, lists, core, ctx.stores.db),
      ),
  };
}
