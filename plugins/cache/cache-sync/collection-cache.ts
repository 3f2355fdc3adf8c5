import { ObjectId } from "bson";
import { StoreUnavailableError } from "../../../src/core/errors";
import type { WriteContext } from "../../../src/core/hooks";
import type { Update } from "../../../src/core/ports/document-store";
import { AdminOps, type BulkSyncResult, type Validation } from "./admin-ops";
import type { CarriedFields } from "./carried-fields";
import type { CachedCollection, CachedDoc } from "./collection";
import { type CollectionEngine, isHexId } from "./collection-engine";
import type { OwnerList } from "./lists/owner-list";
import { type OwnerListReaders, ownerListReaders, readLists } from "./lists/readers";
import { CachedReads } from "./reads";

export type { WriteContext } from "../../../src/core/hooks";

export interface CollectionStats {
  collection: string;
  /** Entry keys counted by SCAN (markers included); null while Redis is unreachable. */
  keys: number | null;
  redisConnected: boolean;
  hits: number;
  misses: number;
  hitRatio: number;
  timestamp: string;
}

// Exactly `<entity>:<24 hex>`: an index key (`<entity>:<field>:…`) cannot match.
const ID_GLOB = "[0-9a-f]".repeat(24);

/**
 * One cached collection, by intent: what callers (route handlers, services, library users) read
 * and write through. Every declared collection gets this same API from the engine.
 *
 * @example
 * ```ts
 * const cache = ctx.use("cache");
 * const user = await cache.users.get(id);                    // Redis first, MongoDB on a miss
 * const same = await cache.users.getBy("email", "a@b.c");    // through the email index
 * const favs = await cache.listings.getMany(listingIds);     // one batch read
 * const mine = await cache.listings.lists.byOwner(userId);   // a declared owner list
 * await cache.users.update(id, { $set: { bio } }, { reason: "profile update" });
 * ```
 */
/**
 * How reads are shown to callers, when a plugin asks (write-behind merges queued changes): a key
 * of its own read beside each entry — in the same MGET as the entry, so a hit stays one Redis
 * command — and the document as shown given that key's value. Never applied to what is cached.
 * A collection without a presenter reads its entry alone.
 */
export interface ReadPresenter<T> {
  /** The key read with the entry of `id` (its value goes to `present`). */
  companionKey(id: string): string;
  /** The document as shown; `companion` null when the key is absent or Redis failed. */
  present(doc: T, companion: string | null): T;
  /**
   * The entries already show what `present` adds (their CarriedFields): reads skip the
   * companion, the near cache's too (a raise drops the near copies: NearLayer.changedInPlace).
   */
  inEntry?: boolean;
}

export class CollectionCache<T extends CachedDoc = CachedDoc> extends CachedReads<T> {
  // The reads (get, getBy, getMany) are inherited: without a presenter a read passes no extra layer.
  private readonly admin: AdminOps<T>;
  private presenter: ReadPresenter<T> | null = null;
  /** The declared owner lists, by read name (`lists.byOwner(ownerId)`). */
  readonly lists: OwnerListReaders<T>;

  constructor(
    engine: CollectionEngine<T>,
    private readonly ownerLists: Readonly<Record<string, OwnerList>> = {},
  ) {
    super(engine);
    this.admin = new AdminOps(engine);
    this.lists = ownerListReaders(ownerLists, (ids) => this.getMany(ids));
  }

  /**
   * Several declared lists of one owner, by read name: every list's ids in one round trip, then
   * all the documents they name in one batch read.
   */
  async listsOf<K extends string>(owner: string, names: readonly K[]): Promise<Record<K, T[]>> {
    const lists = names.map((n) => {
      const l = this.ownerLists[n];
      if (!l) throw new Error(`${this.name}: no owner list "${n}" is declared`);
      return l;
    });
    const docs = await readLists(owner, lists, (ids) => this.getMany(ids));
    return Object.fromEntries(names.map((n, i) => [n, docs[i] ?? []])) as Record<K, T[]>;
  }

  /** Sets the one presenter of this collection's reads (see ReadPresenter). */
  presentReadsWith(presenter: ReadPresenter<T>): void {
    this.presenter = presenter;
  }

  /**
   * Entries carry `carry.fields` (write-behind's queued "latest" times) and leave out `hidden`
   * (CarriedFields): the engine keeps them there on every fill, write and queued change.
   */
  carryFields(carry: CarriedFields, hidden: readonly string[] = []): void {
    this.engine.carryFields(carry, hidden);
  }

  /** The presenter a read needs: none when the entries carry it all. */
  private readPresenter(): ReadPresenter<T> | null {
    const p = this.presenter;
    return p && !p.inEntry ? p : null;
  }

  override get(id: string): Promise<T | null> {
    const p = this.readPresenter();
    // The hit path: with no presenter (or entries carrying it), one GET of the entry alone.
    if (!p) return super.get(id);
    return this.getWith(id, p.companionKey(id)).then(([doc, value]) =>
      doc ? p.present(doc, value) : doc,
    );
  }

  /**
   * `get` without the presenter: the entry as cached (or loaded), for checks of fields no
   * presenter changes — the session check's role and token version — so they pay no companion
   * read. Never shown to a client as is (it may carry write-behind bookkeeping): `present` it.
   */
  getStored(id: string): Promise<T | null> {
    return super.get(id);
  }

  /** What `get` would answer, from a `getStored` read of `id` (the companion in the same tick). */
  present(id: string, stored: Promise<T | null>): Promise<T | null> {
    const p = this.readPresenter();
    if (!p) return stored;
    const companion = this.engine.readCompanions([p.companionKey(id)]);
    return Promise.all([stored, companion]).then(([doc, [value]]) =>
      doc ? p.present(doc, value ?? null) : doc,
    );
  }

  override async getBy(field: string, value: string): Promise<T | null> {
    const doc = await super.getBy(field, value);
    const p = this.readPresenter();
    if (!p || !doc) return doc;
    // The id is known only now: the companion is a read of its own.
    const [companion] = await this.engine.readCompanions([p.companionKey(doc.id)]);
    return p.present(doc, companion ?? null);
  }

  override async getMany(ids: readonly string[]): Promise<(T | null)[]> {
    const p = this.readPresenter();
    if (!p) return super.getMany(ids);
    const [docs, companions] = await this.getManyWith(ids, (id) => p.companionKey(id));
    return docs.map((d, i) => (d ? p.present(d, companions[i] ?? null) : d));
  }

  get declaration(): CachedCollection<T> {
    return this.engine.decl;
  }

  get name(): string {
    return this.engine.decl.name;
  }

  /**
   * Applies a MongoDB update document by id through the repository, so the version bump,
   * write-through and event happen as for any write. null when the document does not exist.
   */
  async update(id: string, update: Update, write: WriteContext = {}): Promise<T | null> {
    if (!isHexId(id)) return null;
    const col = this.engine.core.ctx.repo.collection(
      this.name,
      write.reason || write.opId ? { write } : {},
    );
    const after = await col.findOneAndUpdate({ _id: new ObjectId(id) }, update, {
      returnDocument: "after",
    });
    return after as unknown as T | null;
  }

  /** Compares the entry with MongoDB and repairs a difference. */
  validate(id: string): Promise<Validation<T>> {
    return this.admin.validate(id);
  }

  /**
   * Rebuilds the entry from MongoDB (under a lease); null when the document does not exist.
   * Answers what a read now shows (presented: no write-behind bookkeeping), not the entry itself.
   */
  sync(id: string): Promise<T | null> {
    return this.present(id, this.admin.sync(id));
  }

  /** Empties the entry and its index keys; `also` adds index values the caller knows of. */
  invalidate(id: string, also: readonly Record<string, unknown>[] = []): Promise<void> {
    return this.admin.invalidate(id, also);
  }

  /** Rebuilds many entries with bounded concurrency. */
  bulkSync(ids: readonly unknown[]): Promise<BulkSyncResult> {
    return this.admin.bulkSync(ids);
  }

  /** Key count (SCAN, never KEYS) and this instance's hits and misses for the collection. */
  async stats(): Promise<CollectionStats> {
    const { core, decl } = this.engine;
    let keys: number | null = null;
    try {
      keys = await core.cache.scanCount(`${this.engine.key(ID_GLOB)}`);
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
    }
    const { metrics } = core;
    const [hits, misses] = await Promise.all([
      counted(metrics.cacheHits, decl.name),
      counted(metrics.cacheMisses, decl.name),
    ]);
    const reads = hits + misses;
    return {
      collection: decl.name,
      keys,
      redisConnected: keys !== null && core.cache.isConnected(),
      hits,
      misses,
      hitRatio: reads === 0 ? 0 : hits / reads,
      timestamp: new Date().toISOString(),
    };
  }
}

type LabelledCounter = {
  get(): Promise<{ values: { value: number; labels: Record<string, unknown> }[] }>;
};

/** A counter's value for one collection (0 before its first read). */
export async function counted(counter: LabelledCounter, collection?: string): Promise<number> {
  const { values } = await counter.get();
  return values
    .filter((v) => collection === undefined || v.labels.collection === collection)
    .reduce((sum, v) => sum + v.value, 0);
}
