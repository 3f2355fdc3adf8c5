import { setupError } from "../../../src/core/errors";
import type { HookSpec, RepoCall } from "../../../src/core/hooks";
import type { PluginContext } from "../../../src/core/plugin";
import type { ReadPresenter } from "../cache-sync/collection-cache";
import type { Declared } from "./declarations";
import type { WriteBehindKeys } from "./keys";
import { parseOverlay, withOverlay, withoutBookkeeping } from "./overlay";

type Row = Record<string, unknown> & { _id?: unknown; id?: unknown };

const idOf = (doc: Row): string | null => {
  const raw = doc._id ?? doc.id;
  if (raw === undefined || raw === null) return null;
  return typeof raw === "string"
    ? raw
    : String((raw as { toHexString?: () => string }).toHexString?.() ?? raw);
};

const isRow = (v: unknown): v is Row => v !== null && typeof v === "object" && !Array.isArray(v);

const UPDATE_OPS = ["updateOne", "updateMany", "findOneAndUpdate"];

/**
 * The same merge for reads by intent (`cache.<collection>.get/getBy/getMany`), which do not pass
 * the repository: the overlay is the engine's companion key, read in the same MGET as the entry,
 * so a hit is one Redis command (docs/WRITE-BEHIND.md).
 */
export function overlayPresenter<T extends Row>(
  spec: Declared,
  keys: WriteBehindKeys,
): ReadPresenter<T> {
  return {
    companionKey: (id) => keys.overlay(spec.collection, id),
    present: (doc, raw) => withOverlay(doc, parseOverlay(raw), spec),
  };
}

/**
 * Readers see queued changes at once: every document a repository read of a declared collection
 * returns gets its overlay merged (overlay.ts) and its bookkeeping removed; what a write returns
 * loses the bookkeeping (caches take the written documents, bookkeeping included, in afterWrite).
 * Reads by intent get the same merge through `overlayPresenter`. If Redis cannot be read, the
 * document is returned as stored.
 *
 * Declared fields are written by write-behind only: an update through the repository that names
 * one is refused (a programming error, CS_ERR_WRITE_BEHIND_FIELD), so no write-through can race
 * the queue on them.
 */
export function writeBehindHooks(
  ctx: PluginContext,
  declared: ReadonlyMap<string, Declared>,
  keys: WriteBehindKeys,
): HookSpec[] {
  const collections = [...declared.keys()];
  const merge = async (collection: string, result: unknown): Promise<unknown> => {
    const spec = declared.get(collection) as Declared;
    const rows = Array.isArray(result) ? result : [result];
    const docs = rows.filter(isRow);
    if (docs.length === 0) return result;
    const ids = docs.map(idOf);
    let overlays: (Record<string, string> | null)[] = [];
    try {
      const wanted = ids.filter((id): id is string => id !== null);
      const found = await ctx.stores.cache.mget(wanted.map((id) => keys.overlay(collection, id)));
      const byId = new Map(wanted.map((id, i) => [id, parseOverlay(found[i] ?? null)]));
      overlays = ids.map((id) => (id === null ? null : (byId.get(id) ?? null)));
    } catch {
      const stripped = rows.map((r) => (isRow(r) ? withoutBookkeeping(r) : r));
      return Array.isArray(result) ? stripped : stripped[0];
    }
    let i = 0;
    const merged = rows.map((r) => (isRow(r) ? withOverlay(r, overlays[i++] ?? null, spec) : r));
    return Array.isArray(result) ? merged : merged[0];
  };
  return [
    // Around the store read, outside the owner lists: list hits are merged too.
    {
      phase: "read",
      collection: collections,
      op: ["findOne", "find"],
      // A fill's read (asStored): the cache keeps MongoDB's document, bookkeeping included, and
      // shows the overlay when read; merged here, a queued count would show twice.
      run: async (call, next) => (call.asStored ? next() : merge(call.collection, await next())),
    },
    {
      phase: "beforeWrite",
      collection: collections,
      op: UPDATE_OPS,
      run: (call) => refuseDeclaredFields(call, declared.get(call.collection) as Declared),
    },
    // What a write answers: the bookkeeping removed (write-through cached it from `after`).
    {
      phase: "result",
      collection: collections,
      run: (result, call) =>
        call.asStored
          ? result
          : Array.isArray(result)
            ? result.map((r) => (isRow(r) ? withoutBookkeeping(r) : r))
            : isRow(result)
              ? withoutBookkeeping(result)
              : result,
    },
  ];
}

function refuseDeclaredFields(call: RepoCall, spec: Declared): void {
  const update = call.args[1];
  if (!isRow(update)) return;
  const owned = new Set([...spec.counters, ...spec.latest]);
  for (const fields of Object.values(update)) {
    if (!isRow(fields)) continue;
    for (const path of Object.keys(fields)) {
      const top = path.split(".")[0] as string;
      if (owned.has(top))
        throw setupError(
          "CS_ERR_WRITE_BEHIND_FIELD",
          `${call.collection}.${top} is written by write-behind only (queue a change instead)`,
        );
    }
  }
}
