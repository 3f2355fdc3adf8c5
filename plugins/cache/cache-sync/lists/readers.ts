import type { OwnerList } from "./owner-list";

type GetMany<T> = (ids: readonly string[]) => Promise<(T | null)[]>;

/**
 * One declared list, read by intent: `cache.listings.lists.byOwner(ownerId)` is the owner's
 * documents in list order, resolved through the declaring collection's cache (one batch read)
 * and arranged (a member gone, or no longer the owner's, is dropped).
 */
export interface OwnerListReader<T> {
  (owner: string): Promise<T[]>;
  /** The ids alone (one Redis read when cached). */
  ids(owner: string): Promise<string[]>;
  readonly list: OwnerList;
}

export type OwnerListReaders<T> = Readonly<Record<string, OwnerListReader<T>>>;

/**
 * Several lists of one owner: every list's ids read together (one round trip), then every id
 * they name in one batch read, so a document on two lists is read once.
 */
export async function readLists<T extends object>(
  owner: string,
  lists: readonly OwnerList[],
  getMany: GetMany<T>,
): Promise<T[][]> {
  const ids = await Promise.all(lists.map((l) => l.ids(owner)));
  const wanted = [...new Set(ids.flat())];
  const found = wanted.length ? await getMany(wanted) : [];
  const byId = new Map(wanted.map((id, i) => [id, found[i] ?? null]));
  return lists.map((l, i) =>
    l.arrange(
      owner,
      (ids[i] as string[]).map((id) => byId.get(id) ?? null),
    ),
  );
}

export function ownerListReaders<T extends object>(
  lists: Readonly<Record<string, OwnerList>>,
  getMany: GetMany<T>,
): OwnerListReaders<T> {
  const out: Record<string, OwnerListReader<T>> = {};
  for (const [name, list] of Object.entries(lists)) {
    const read = async (owner: string) => (await readLists(owner, [list], getMany))[0] as T[];
    out[name] = Object.assign(read, { ids: (owner: string) => list.ids(owner), list });
  }
  return Object.freeze(out);
}
