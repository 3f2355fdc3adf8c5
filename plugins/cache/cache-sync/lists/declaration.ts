import type { Sort } from "../../../../src/core/ports/document-store";

/**
 * One owner-scoped list: the first `limit` documents of `collection` whose `owner` field names
 * the owner (as an ObjectId or its hex string), in `sort` order. The entry holds ids, not
 * documents: the members' own `_id`s, or with `pick` the ids another field names (a bookmark's
 * `targetId`), which the reader resolves through the cache of the collection they point to.
 */
export interface OwnerListDeclaration {
  /** The list's name: its key (`<prefix>lists:<name>:<owner>`), counter and metric label. */
  readonly name: string;
  /** The member collection; every write to it goes through the list's write hooks. */
  readonly collection: string;
  /** The member field naming the owner. */
  readonly owner: string;
  readonly sort: Sort;
  readonly limit: number;
  /** The member field whose id the list holds; default `_id` (the members themselves). */
  readonly pick?: string;
  /** Entry TTL in seconds; default 300. Bounds what a change no hook or stream saw can leave. */
  readonly ttlSeconds?: number;
}

/**
 * An owner list as a cached collection declares it (`lists: { byOwner: { owner: "userId", … } }`):
 * its members are the declaring collection's documents, or with `members` another collection's
 * documents whose `pick` field names one of the declaring collection's ids (favorites → listings).
 * Either way the list yields documents of the declaring collection, read through its cache.
 */
export interface OwnerListOptions {
  /** The member field naming the owner. */
  readonly owner: string;
  readonly sort: Sort;
  readonly limit: number;
  /** The member collection when it is not the declaring one; needs `pick`. */
  readonly members?: string;
  /** The member field holding the declaring collection's id (required with `members`). */
  readonly pick?: string;
  /** Entry TTL in seconds; default 300. */
  readonly ttlSeconds?: number;
  /** The name in its Redis key and version counter; default the list's own (read) name. */
  readonly storedAs?: string;
}

/** The engine's form of one list a collection declared under `name`. */
export function listDeclaration(
  collection: string,
  name: string,
  o: OwnerListOptions,
): OwnerListDeclaration {
  const d: OwnerListDeclaration = {
    name: o.storedAs ?? name,
    collection: o.members ?? collection,
    owner: o.owner,
    sort: o.sort,
    limit: o.limit,
    ...(o.pick !== undefined ? { pick: o.pick } : {}),
    ...(o.ttlSeconds !== undefined ? { ttlSeconds: o.ttlSeconds } : {}),
  };
  checkDeclaration(d);
  // Members of another collection are resolved by the id they name, never by their own.
  if (d.collection !== collection && (d.pick === undefined || d.pick === "_id"))
    throw new Error(`owner list "${name}": members of ${d.collection} need \`pick\``);
  if (d.collection === collection && d.pick !== undefined && d.pick !== "_id")
    throw new Error(`owner list "${name}": \`pick\` only with \`members\``);
  return d;
}

export const DEFAULT_LIST_TTL_SECONDS = 300;

/** The member fields whose change can change the list's ids or their order. */
export const fieldsOf = (d: OwnerListDeclaration): ReadonlySet<string> =>
  new Set([d.owner, d.pick ?? "_id", ...Object.keys(d.sort).map((k) => k.split(".")[0] as string)]);

export function checkDeclaration(d: OwnerListDeclaration): void {
  const bad = (why: string) => new Error(`owner list "${d.name}": ${why}`);
  if (!/^[a-zA-Z][\w-]*$/.test(d.name)) throw bad("name must be a word");
  if (!Number.isInteger(d.limit) || d.limit < 1 || d.limit > 1000)
    throw bad(`limit must be an integer in 1..1000, got ${d.limit}`);
  const ttl = d.ttlSeconds ?? DEFAULT_LIST_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 86_400)
    throw bad(`ttlSeconds must be an integer in 1..86400, got ${ttl}`);
}
