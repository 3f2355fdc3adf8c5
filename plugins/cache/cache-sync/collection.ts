import { PluginError } from "../../../src/core/plugin";
import type { ApiDoc } from "../../../src/domain/api-doc";
import {
  listDeclaration,
  type OwnerListDeclaration,
  type OwnerListOptions,
} from "./lists/declaration";

/** A unique lookup (`getBy(field, value)`): an index key maps the normalized value to the id. */
export interface UniqueLookup {
  readonly field: string;
  /** Applied to a value before it is looked up or indexed (e.g. lower-casing emails). */
  readonly normalize: (value: string) => string;
}

/** What a cached entry is: the sanitized document in the API shape, with its version. */
export type CachedDoc = ApiDoc & { version: number };

export interface CachedCollectionOptions {
  /** The MongoDB collection, e.g. `"listings"`. */
  name: string;
  /** The key segment: entries are `<prefix><entity>:<id>`, e.g. `"listing"`. */
  entity: string;
  /** The identifying field; only `_id` (an ObjectId, hex in the API) for now. */
  key?: "_id";
  /** Fields with a unique index that reads may look up by (`getBy`). A string keeps values as is. */
  unique?: readonly (string | { field: string; normalize?: (value: string) => string })[];
  /** Fields that never reach Redis, a response or an event (on top of SENSITIVE_FIELDS). */
  sensitive?: readonly string[];
  /** Entry TTL in seconds (1..86400); default CACHE_TTL_SECONDS. */
  ttl?: number;
  /** The monotonically increasing version field, bumped by every write; default `version`. */
  versionField?: string;
  /** The event published after each write through the service; default `<entity>Updated`. */
  event?: string;
  /**
   * Owner-scoped lists yielding this collection's documents, by read name:
   * `cache.<name>.lists.<list>(owner)` (plugins/cache/cache-sync/lists).
   */
  lists?: Readonly<Record<string, OwnerListOptions>>;
  /** An in-process near cache for this collection (plugins/cache/near-cache); carried, not built here. */
  nearCache?: boolean | Readonly<Record<string, unknown>>;
}

/** A validated, frozen declaration; `T` is the cached document's type (a type-level tag only). */
export interface CachedCollection<T extends CachedDoc = CachedDoc> {
  readonly name: string;
  readonly entity: string;
  readonly key: "_id";
  readonly unique: readonly UniqueLookup[];
  readonly sensitive: readonly string[];
  readonly ttl?: number;
  readonly versionField: string;
  readonly event: string;
  /** The owner lists, checked, by read name (empty when none is declared). */
  readonly lists: Readonly<Record<string, OwnerListDeclaration>>;
  readonly nearCache?: boolean | Readonly<Record<string, unknown>>;
  /** Never set: carries `T` so `cache.<name>` is typed from the declaration. */
  readonly __doc?: T;
}

const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const ENTITY = /^[a-z][a-z0-9-]*$/;
const FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;
const same = (v: string) => v;

const invalid = (what: string) =>
  new PluginError("CS_ERR_COLLECTION_INVALID", `defineCachedCollection: ${what}`);

/**
 * Declares a cached collection: from this alone the sync engine gives it cache-aside reads with
 * single flight and fill leases, versioned write-through, tombstones, the durable repair log,
 * validate / sync / invalidate / bulk-sync, `<entity>Updated` events, the consistency check and
 * metrics labelled by collection, and its owner lists (their member write hooks, version counters
 * and MongoDB indexes). Options are checked once, here (a coded
 * `CS_ERR_COLLECTION_INVALID` names the bad one).
 *
 * @example
 * ```ts
 * import { defineCachedCollection } from "cachesync";
 *
 * export const listings = defineCachedCollection<Listing>({
 *   name: "listings",
 *   entity: "listing",          // keys: <prefix>listing:<id>
 *   sensitive: ["internalNotes"],
 *   ttl: 600,
 *   lists: { byOwner: { owner: "userId", sort: { createdAt: -1 }, limit: 50 } },
 * });
 * // then: createCacheSync({ collections: [listings] }), cache.listings.get(id) and
 * // cache.listings.lists.byOwner(userId)
 * ```
 */
export function defineCachedCollection<T extends CachedDoc = CachedDoc>(
  options: CachedCollectionOptions,
): CachedCollection<T> {
  const { name, entity } = options;
  if (typeof name !== "string" || !NAME.test(name)) throw invalid(`invalid name ${String(name)}`);
  if (typeof entity !== "string" || !ENTITY.test(entity))
    throw invalid(`${name}: entity must match ${ENTITY} (it is a key segment)`);
  if (options.key !== undefined && options.key !== "_id")
    throw invalid(`${name}: only "_id" keys are supported`);
  const ttl = options.ttl;
  if (ttl !== undefined && (!Number.isInteger(ttl) || ttl < 1 || ttl > 86_400))
    throw invalid(`${name}: ttl must be an integer number of seconds in 1..86400`);
  const unique = (options.unique ?? []).map((u) =>
    typeof u === "string"
      ? { field: u, normalize: same }
      : { field: u.field, normalize: u.normalize ?? same },
  );
  for (const u of unique)
    if (!FIELD.test(u.field) || u.field === "_id" || u.field === "id")
      throw invalid(`${name}: unique field ${String(u.field)} is not a plain field name`);
  const versionField = options.versionField ?? "version";
  if (!FIELD.test(versionField)) throw invalid(`${name}: versionField ${versionField}`);
  const sensitive = [...(options.sensitive ?? [])];
  for (const f of [...unique.map((u) => u.field), versionField])
    if (sensitive.includes(f)) throw invalid(`${name}: ${f} cannot be both cached and sensitive`);
  const lists: Record<string, OwnerListDeclaration> = {};
  for (const [list, o] of Object.entries(options.lists ?? {})) {
    if (!FIELD.test(list)) throw invalid(`${name}: list name ${list} is not a plain name`);
    try {
      lists[list] = listDeclaration(name, list, o);
    } catch (err) {
      throw invalid(`${name}: ${(err as Error).message}`);
    }
  }
  return Object.freeze({
    name,
    entity,
    key: "_id" as const,
    unique: Object.freeze(unique),
    sensitive: Object.freeze(sensitive),
    ...(ttl !== undefined ? { ttl } : {}),
    versionField,
    event: options.event ?? `${entity}Updated`,
    lists: Object.freeze(lists),
    ...(options.nearCache !== undefined ? { nearCache: options.nearCache } : {}),
  });
}
