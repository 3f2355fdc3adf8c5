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
