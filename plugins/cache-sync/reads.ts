import { ObjectId } from "bson";
import type { CachedDoc } from "./collection";
import { type CollectionEngine, isHexId } from "./collection-engine";
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

  constructor(private readonly engine: CollectionEngine<T>) {
    const { metrics } = engine.core;
    const collection = engine.decl.name;
    // Children bound once: the hit path pays no label lookup.
    this.hit = metrics.cacheHits.labels({ collection });
    this.miss = metrics.cacheMisses.labels({ collection });
  }

  /** The entry by id; null for an unknown or malformed id (never throws for "not found"). */
  get(id: string): Promise<T | null> {
    if (!isHexId(id)) return Promise.resolve(null);
    // A promise chain, not async/await: the hit path is the product's hottest code.
    return this.engine.getCached(id).then((cached) => {
      if (cached) return this.served(cached);
      this.miss.inc();
      return this.load(id).then(copy);
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
    if (cached && cached[field] === normalized) return this.served(cached);
    this.miss.inc();
    return copy(await this.loadBy(field, normalized));
  }

  /**
   * Many entries in one batch read (one pipeline of GETs; per node on Cluster), in the order of
   * `ids`; misses load as `get` does, concurrently. null where a document does not exist.
   */
  async getMany(ids: readonly string[]): Promise<(T | null)[]> {
    const valid = ids.map((id) => (isHexId(id) ? id : null));
    const cached = await this.engine.getCachedMany(valid.filter((id): id is string => id !== null));
    let i = 0;
    const out = valid.map((id) => (id === null ? null : (cached[i++] ?? null)));
    const degraded = this.engine.core.mongoDegraded();
    await Promise.all(
      out.map(async (entry, k) => {
        const id = valid[k];
        if (!id) return;
        if (entry) {
          this.hit.inc();
          if (degraded) markStale();
          return;
        }
        this.miss.inc();
        out[k] = copy(await this.load(id));
      }),
    );
    return out;
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
      return doc ? engine.sanitize(doc) : null;
    });
  }
}

/** Each caller gets its own copy of a shared load: mutating a result must not affect others. */
const copy = <T>(v: T | null): T | null => (v ? structuredClone(v) : null);
