import { ObjectId } from "bson";
import type { CachedDoc } from "./collection";
import { type CollectionEngine, type FillLease, isHexId } from "./collection-engine";
import type { NearLayer } from "./near-layer";
import { belowFloor } from "./read-floor";
import { markStale } from "./stale-scope";

/**
 * Cache-aside reads by intent: Redis first; on a miss one MongoDB read per key however many
 * callers wait (single flight), taken under a fill lease, then a versioned fill that cannot
 * overwrite a newer entry nor land where one was evicted. Redis failing means MongoDB answers,
 * never an error.
 */
export class CachedReads<T extends CachedDoc> {
  private readonly hit: { inc(): void };
  private readonly miss: { inc(): void };

  constructor(readonly engine: CollectionEngine<T>) {
    const { metrics } = engine.core;
    const collection = engine.decl.name;
    // Plain tallies the counters take when read: the hit path pays no prom-client call.
    this.hit = metrics.hitTally(collection);
    this.miss = metrics.missTally(collection);
  }

  /** By id: the cached entry, or MongoDB's (then cached); null for an unknown or malformed id. */
  get(id: string): Promise<T | null> {
    if (!isHexId(id)) return Promise.resolve(null);
    const near = this.engine.near;
    if (near) return this.throughNear(near, id);
    // A callback in the store's own promise step, not async/await: the hit path is the
    // product's hottest code.
    return this.engine.readCached(id, this.afterRead(id));
  }

  /** What `get` does with the entry it read (a closure per read: it needs the id on a miss). */
  private afterRead(id: string): (cached: T | null) => T | null | Promise<T | null> {
    return (cached) => {
      // An entry older than the version the request presented (X-Min-Version) reads as a miss.
      if (cached && !belowFloor(cached)) return this.served(cached);
      this.miss.inc();
      // The caller that starts the load takes its document as is: the joiners' copies are taken
      // in the callbacks queued with this one, before the starter's code can change it.
      if (this.engine.flights.has(id)) return this.load(id).then(copy);
      return this.load(id);
    };
  }

  /**
   * `get`, and the value of `companion` read in the same MGET as the entry (ReadPresenter): a hit
   * is one Redis command. A miss loads as `get` does; the companion read stays the one from
   * before the load (the presenter's arithmetic allows that: write-behind's overlay.ts).
   */
  getWith(id: string, companion: string): Promise<[T | null, string | null]> {
    if (!isHexId(id)) return Promise.resolve([null, null]);
    const near = this.engine.near;
    if (near)
      return Promise.all([
        this.throughNear(near, id),
        this.engine.readCompanions([companion]).then(([value]) => value ?? null),
      ]);
    return this.engine.getCachedWith(id, companion).then(([cached, value]) => {
      if (cached && !belowFloor(cached)) return [this.served(cached), value];
      this.miss.inc();
      return this.load(id).then((doc): [T | null, string | null] => [copy(doc), value]);
    });
  }

  /** The entry by a declared unique field (`getBy("email", e)`), through its index key. */
  async getBy(field: string, value: string): Promise<T | null> {
    const lookup = this.engine.decl.unique.find((u) => u.field === field);
    if (!lookup)
      throw new Error(`${this.engine.decl.name}: ${field} is not a declared unique field`);
    if (typeof value !== "string" || value.length === 0) return null;
    const normalized = lookup.normalize(value);
    const id = await this.engine.getCachedIdBy(field, normalized);
    const cached = id ? await this.engine.getCached(id) : null;
    // An index left behind by a change of that field must not resolve to another document.
    if (cached && cached[field] === normalized && !belowFloor(cached)) return this.served(cached);
    this.miss.inc();
    return copy(await this.loadBy(field, normalized));
  }

  /**
   * Many entries in one batch read (one pipeline of GETs; per node on Cluster), in the order of
   * `ids`; the misses load together (`loadMany`: one MongoDB read). null where a document does
   * not exist.
   */
  async getMany(ids: readonly string[]): Promise<(T | null)[]> {
    const valid = validIds(ids);
    return this.completeMany(valid, await this.engine.getCachedMany(present(valid)));
  }

  /**
   * `getMany`, and per id the value of its companion key (null for a malformed id), read in the
   * same MGET as the entries.
   */
  async getManyWith(
    ids: readonly string[],
    companion: (id: string) => string,
  ): Promise<[(T | null)[], (string | null)[]]> {
    const valid = validIds(ids);
    const wanted = present(valid);
    const [cached, values] = await this.engine.getCachedManyWith(wanted, wanted.map(companion));
    let i = 0;
    const companions = valid.map((id) => (id === null ? null : (values[i++] ?? null)));
    return [await this.completeMany(valid, cached), companions];
  }

  /** The entries of the valid ids in `valid`'s order, the misses loaded together. */
  private async completeMany(
    valid: readonly (string | null)[],
    cached: readonly (T | null)[],
  ): Promise<(T | null)[]> {
    let i = 0;
    const out = valid.map((id) => (id === null ? null : (cached[i++] ?? null)));
    const degraded = this.engine.core.mongoDegraded();
    const missing: number[] = [];
    for (const [k, entry] of out.entries()) {
      if (!valid[k]) continue;
      if (!entry) {
        missing.push(k);
        continue;
      }
      this.hit.inc();
      if (degraded) markStale();
    }
    if (missing.length === 0) return out;
    for (const _ of missing) this.miss.inc();
    const loads = this.loadMany(missing.map((k) => valid[k] as string));
    const loaded = await Promise.all(loads);
    missing.forEach((k, j) => {
      out[k] = copy(loaded[j] ?? null);
    });
    return out;
  }

  /**
   * The misses of one `getMany`, each under its own single flight and fill lease, sharing one
   * MongoDB read (`_id: { $in }`). An id already loading joins that load; each new load takes its
   * lease and seals, and the shared read is issued once all of them sealed — so, as for `get`,
   * nobody joins a load whose read may predate them.
   */
  private loadMany(ids: readonly string[]): Promise<T | null>[] {
    const engine = this.engine;
    const starters: string[] = [];
    let arrived = 0;
    let issue!: () => void;
    const sealed = new Promise<void>((r) => {
      issue = r;
    });
    let read: Promise<Map<string, T>> | undefined;
    const shared = () => {
      read ??= sealed
        .then(() => engine.loadManyFromStore(starters))
        .then((docs) => new Map(docs.map((d) => engine.sanitize(d)).map((d) => [d.id, d])));
      return read;
    };
    // SingleFlight.do runs a new load synchronously up to its first await, so `starters` is
    // complete before any load arrives below.
    return ids.map((id) =>
      engine.flights.do(id, async (seal) => {
        starters.push(id);
        const end = engine.core.metrics.fillSeconds.startTimer();
        let lease: FillLease = { held: false };
        try {
          lease = await engine.lease(id);
        } finally {
          seal();
          if (++arrived === starters.length) issue();
        }
        const fresh = (await shared()).get(id);
        if (!fresh) return null;
        await engine.fill(fresh, lease);
        end();
        return fresh;
      }),
    );
  }

  /** `get` with the near cache in front: what a lower layer answers is offered to it. */
  private async throughNear(near: NearLayer<T>, id: string): Promise<T | null> {
    const hit = near.get(id);
    if (hit && !belowFloor(hit)) return hit;
    const ticket = near.ticket();
    const cached = await this.engine.getCached(id);
    if (cached && !belowFloor(cached)) {
      near.offer(cached, ticket);
      return this.served(cached);
    }
    this.miss.inc();
    const loaded = await this.load(id);
    if (loaded) near.offer(loaded, ticket);
    return copy(loaded);
  }

  private served(cached: T): T {
    this.hit.inc();
    if (this.engine.core.mongoDegraded()) markStale();
    return cached;
  }

  /** One MongoDB read per id however many callers miss at once, then a versioned fill. */
  load(id: string): Promise<T | null> {
    const engine = this.engine;
    return engine.flights.do(id, async (seal) => {
      const end = engine.core.metrics.fillSeconds.startTimer();
      const lease = await engine.lease(id);
      // Joiners from here on would get a read that may predate a write acknowledged after they
      // arrived (on any instance): they share the next load instead.
      seal();
      const doc = await engine.loadFromStore({ _id: new ObjectId(id) });
      if (!doc) return null;
      const fresh = engine.sanitize(doc);
      // Refused means the key changed since the lease; the document is still current for every
      // caller of this load, since they all arrived before its read began.
      await engine.fill(fresh, lease);
      end();
      return fresh;
    });
  }

  /**
   * A miss by a unique field cannot lease the entry's key before it knows the id: it answers from
   * MongoDB without filling (a fill by versions alone could land after an eviction).
   */
  private loadBy(field: string, value: string): Promise<T | null> {
    const engine = this.engine;
    return engine.flights.do(`${field}:${value}`, async (seal) => {
      seal();
      const doc = await engine.loadFromStore({ [field]: value });
      return doc ? engine.withQueuedTimes(engine.sanitize(doc)) : null;
    });
  }
}

const validIds = (ids: readonly string[]) => ids.map((id) => (isHexId(id) ? id : null));
const present = (valid: readonly (string | null)[]) =>
  valid.filter((id): id is string => id !== null);

/** Each caller gets its own copy of a shared load: mutating a result must not affect others. */
const copy = <T>(v: T | null): T | null => (v ? structuredClone(v) : null);
