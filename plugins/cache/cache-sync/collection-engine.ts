import { ObjectId } from "bson";
import { isObjectIdHex } from "../../../src/core/object-id";
import type { PluginContext } from "../../../src/core/plugin";
import type { Doc } from "../../../src/core/ports/document-store";
import { toApiDoc } from "../../../src/domain/api-doc";
import { type CarriedFields, carriedTimes, takeLater, takeQueued } from "./carried-fields";
import type { CachedCollection, CachedDoc } from "./collection";
import { type CacheCore, DELETED_VERSION } from "./core";
import { entryKey, indexKey } from "./keys";
import type { NearLayer } from "./near-layer";
import type { RepairEntry } from "./repair-log";
import { SingleFlight } from "./single-flight";

const WRITE = { write: true } as const;

/**
 * A fill's MongoDB read: the document as stored (RepoCall.asStored), so a presenting hook such as
 * write-behind's merge leaves it alone — the entry holds MongoDB's document, and its queued
 * changes are shown when it is read (a count merged into the entry would show twice).
 */
const FILL_READ = { asStored: true } as const;

/**
 * What a write-through presents as its lease: it matches no fill's lease, so set-if-newer lands
 * it only over a live entry under the version rules — never into an absent key nor over a fill's
 * lease, where the write cannot tell that it carries the latest version.
 */
const WRITE_THROUGH_LEASE = "write-through";

/**
 * A fill's right to store: `token` when it holds a lease taken before its MongoDB read; `held`
 * false when it could not take one (the key was not empty): with leases on, it then stores
 * nothing. With leases switched off (a mutation test) fills go by versions alone.
 */
export interface FillLease {
  held: boolean;
  token?: string;
  /**
   * The carried fields' queued times (CarriedFields), read once the lease was taken — so a
   * change queued after this read finds the lease (or the fill) in the key — and beside the
   * MongoDB read, which it does not delay. The fill takes them into the document.
   */
  queued?: Promise<string | null>;
}

/** The API's one id rule (src/core/object-id): canonical lower-case hex. */
export const isHexId = isObjectIdHex;

/**
 * One declared collection's entry mechanics on top of the shared core: its keys, versioned
 * fills under leases, write-through, invalidation, rebuilds and its debts. The same code serves
 * users and every other declaration; nothing here knows about HTTP.
 */
export class CollectionEngine<T extends CachedDoc = CachedDoc> {
  readonly flights: SingleFlight<T | null>;
  /** An in-process layer in front of Redis, when the near cache is on for this collection. */
  near?: NearLayer<T>;
  readonly sanitize: (doc: Record<string, unknown>) => T;
  /** Fields the entry carries for write-behind (its queued "latest" times), when declared. */
  carry?: CarriedFields;
  private readonly hidden: Set<string>;
  private readonly labels: { collection: string };
  /** The fills' label sets, built once (a miss spreads no object per fill). */
  private readonly fillLabels: Record<"stored" | "refused" | "error", Record<string, string>>;
  /** `<prefix><entity>:`, built once: the hit path only appends the id. */
  private readonly entryPrefix: string;

  constructor(
    readonly decl: CachedCollection<T>,
    readonly core: CacheCore,
    extraSensitive: readonly string[] = [],
  ) {
    this.flights = new SingleFlight<T | null>(() => core.protections.singleFlightRule);
    this.hidden = new Set([...decl.sensitive, ...extraSensitive]);
    this.labels = { collection: decl.name };
    const fillOutcome = (outcome: string) => ({ collection: decl.name, outcome });
    this.fillLabels = {
      stored: fillOutcome("stored"),
      refused: fillOutcome("refused"),
      error: fillOutcome("error"),
    };
    this.entryPrefix = entryKey(core.prefix, decl.entity, "");
    const versionField = decl.versionField;
    const hidden = this.hidden;
    // The API shape (`id` hex, ISO dates, no sensitive field); another version field is copied
    // to `version`, where the stored-entry scripts read it. Idempotent: an entry passes unchanged.
    this.sanitize =
      versionField === "version"
        ? (doc) => toApiDoc(doc, hidden) as T
        : (doc) => withVersion(toApiDoc(doc, hidden), versionField) as T;
    core.settleWith(decl.name, { settle: (entry) => this.settle(entry) });
  }

  /**
   * Entries carry `carry.fields` (see CarriedFields) and leave out `carry.hidden` (write-behind's
   * bookkeeping when no counter needs it), so a hit is the entry alone.
   */
  carryFields(carry: CarriedFields, hidden: readonly string[] = []): void {
    this.carry = carry;
    for (const f of hidden) this.hidden.add(f);
  }

  protected get ctx(): PluginContext {
    return this.core.ctx;
  }

  get breaker() {
    return this.core.breaker;
  }

  key(id: string): string {
    return this.entryPrefix + id;
  }

  /** The index key of a unique lookup, the value normalized as the declaration says. */
  indexKey(field: string, value: string): string {
    const u = this.decl.unique.find((x) => x.field === field);
    return indexKey(this.core.prefix, this.decl.entity, field, u ? u.normalize(value) : value);
  }

  /** Every index key a document's unique values occupy. */
  indexKeysOf(doc: Record<string, unknown>): string[] {
    const out: string[] = [];
    for (const u of this.decl.unique) {
      const v = doc[u.field];
      if (typeof v === "string" && v.length > 0) out.push(this.indexKey(u.field, v));
    }
    return out;
  }

  private ttl(): number {
    return this.core.ttl(this.decl.ttl ?? this.ctx.config.CACHE_TTL_SECONDS);
  }

  /** Cached entry or null (miss, marker, or Redis failing: the caller falls back to MongoDB). */
  getCached(id: string): Promise<T | null> {
    return this.readCached(id, identity);
  }

  /**
   * `getCached` with the caller's next step run in the store's own promise step (the hit path:
   * one promise hop over the Redis client's, not one per layer). breaker.run inlined.
   */
  readCached<R>(id: string, then: (cached: T | null) => R | PromiseLike<R>): Promise<R> {
    if (!this.core.breaker.allows()) return Promise.resolve(null).then(then);
    return this.core.cache.getThen(
      this.key(id),
      (raw) => then(this.readDone(raw)),
      (err) => then(this.readFailed(err)),
    );
  }

  /** Several entries in one batch read (one pipeline; per node on Cluster). */
  getCachedMany(ids: readonly string[]): Promise<(T | null)[]> {
    if (ids.length === 0) return Promise.resolve([]);
    if (!this.core.breaker.allows()) return Promise.resolve(ids.map(() => null));
    return this.core.cache.mget(ids.map((id) => this.key(id))).then(
      (raws) => {
        this.core.breaker.success();
        return raws.map((raw) => (raw === null ? null : (JSON.parse(raw) as T)));
      },
      (err) => ids.map(() => this.readFailed(err)),
    );
  }

  /**
   * The entry and a companion key (ReadPresenter: another plugin's data read with the entry) in
   * one MGET: a hit stays one Redis command (one GET per key on Cluster: the two may sit in other
   * slots). With the breaker open the entry reads as a miss and the companion is still read.
   */
  getCachedWith(id: string, companion: string): Promise<[T | null, string | null]> {
    if (!this.core.breaker.allows())
      return this.readCompanions([companion]).then(([value]) => [null, value ?? null]);
    return this.core.cache.mget([this.key(id), companion]).then(
      (raws): [T | null, string | null] => [this.readDone(raws[0] ?? null), raws[1] ?? null],
      (err): [T | null, string | null] => [this.readFailed(err), null],
    );
  }

  /** `getCachedMany` with one companion key per id, all in the same MGET. */
  getCachedManyWith(
    ids: readonly string[],
    companions: readonly string[],
  ): Promise<[(T | null)[], (string | null)[]]> {
    if (ids.length === 0) return Promise.resolve([[], []]);
    if (!this.core.breaker.allows())
      return this.readCompanions(companions).then((values) => [ids.map(() => null), values]);
    const n = ids.length;
    return this.core.cache.mget([...ids.map((id) => this.key(id)), ...companions]).then(
      (raws): [(T | null)[], (string | null)[]] => {
        this.core.breaker.success();
        const entries = raws
          .slice(0, n)
          .map((raw) => (raw === null ? null : (JSON.parse(raw) as T)));
        return [entries, raws.slice(n)];
      },
      (err): [(T | null)[], (string | null)[]] => [
        ids.map(() => this.readFailed(err)),
        companions.map(() => null),
      ],
    );
  }

  /** Companion keys read alone (no entry to read with them); null each when Redis fails. */
  readCompanions(keys: readonly string[]): Promise<(string | null)[]> {
    return this.core.cache.mget(keys).catch(() => keys.map(() => null));
  }

  private readonly readDone = (raw: string | null): T | null => {
    this.core.breaker.success();
    return raw === null ? null : (JSON.parse(raw) as T);
  };

  private readonly readFailed = (err: unknown): null => {
    this.core.breaker.failure();
    this.core.redisError(err);
    return null;
  };

  async getCachedIdBy(field: string, value: string): Promise<string | null> {
    try {
      return await this.core.breaker.run(() => this.core.cache.get(this.indexKey(field, value)));
    } catch (err) {
      this.core.redisError(err);
      return null;
    }
  }

  /**
   * Before a miss reads MongoDB: a lease in the empty key (SET NX), so the fill lands only if
   * nothing happened to the key since — a write-through, an invalidation or an eviction all take
   * the lease away, and with it any chance for a read that predates them to land (versions alone
   * cannot tell: DESIGN.md). Best effort like the fill itself.
   */
  async lease(id: string): Promise<FillLease> {
    if (!this.core.protections.fillLeases) return this.withQueued(id, { held: true });
    const token = this.core.leaseToken();
    if (!this.core.breaker.allows()) return this.withQueued(id, { held: false });
    const key = this.key(id);
    const held = await this.core.breaker
      .run(() => this.core.cache.acquireFillLease(key, token, this.ctx.config.CACHE_MARKER_TTL_MS))
      .catch((err) => {
        this.core.redisError(err);
        return false;
      });
    return this.withQueued(id, { held, token });
  }

  /** Starts the read of the carried fields' queued times, if any are declared (FillLease.queued). */
  private withQueued(id: string, lease: FillLease): FillLease {
    const carry = this.carry;
    if (carry)
      lease.queued = this.readCompanions([carry.companionKey(id)]).then(([v]) => v ?? null);
    return lease;
  }

  /**
   * Cache-aside fill: best effort, only under the lease taken before the MongoDB read.
   * "refused" means the key changed since the lease was taken: a write or invalidation won.
   */
  async fill(doc: T, lease: FillLease): Promise<"stored" | "refused" | "skipped"> {
    // The carried fields' queued times, taken into the document (the caller's answer too).
    const carry = this.carry;
    if (carry && lease.queued) takeQueued(doc, await lease.queued, carry.fields);
    if (!lease.held || !this.core.breaker.allows()) return "skipped";
    const { metrics } = this.core;
    try {
      const ttl = this.ttl();
      const times = carry ? carriedTimes(doc, carry.fields) : undefined;
      const entry = this.core.breaker.run(() =>
        this.core.storeVersioned(
          this.key(doc.id),
          JSON.stringify(doc),
          versionOf(doc),
          ttl,
          lease.token,
          times,
        ),
      );
      // The index keys in the same round trip: an index only names an id, and a reader checks
      // that the entry it leads to carries the value (getBy), so one set beside a refused fill
      // is harmless.
      const [stored] = await Promise.all([entry, this.setIndexes(doc, ttl)]);
      metrics.cacheFills.inc(stored ? this.fillLabels.stored : this.fillLabels.refused);
      if (!stored) return "refused";
      return "stored";
    } catch (err) {
      metrics.cacheFills.inc(this.fillLabels.error);
      this.core.redisError(err);
      return "skipped";
    }
  }

  private async setIndexes(doc: T, ttl: number, opts?: { write: true }): Promise<void> {
    const keys = this.indexKeysOf(doc);
    if (keys.length === 0) return;
    await Promise.all(
      keys.map((key) => this.core.breaker.run(() => this.core.cache.set(key, doc.id, ttl), opts)),
    );
  }

  /**
   * After MongoDB acknowledged a write: the new version goes to Redis now (or, where there is no
   * older entry to move forward, the key is emptied and refilled from MongoDB). If Redis cannot
   * take it, the key is recorded durably and the breaker opens, so the older entry still in Redis
   * is not served again before it is repaired.
   */
  async writeThrough(doc: T): Promise<void> {
    const { metrics } = this.core;
    const end = metrics.writeThroughSeconds.startTimer();
    try {
      const ttl = this.ttl();
      const key = this.key(doc.id);
      const store = () => {
        const times = this.carry ? carriedTimes(doc, this.carry.fields) : undefined;
        const json = JSON.stringify(doc);
        return this.core.breaker.run(
          () =>
            this.core.storeVersioned(key, json, versionOf(doc), ttl, WRITE_THROUGH_LEASE, times),
          WRITE,
        );
      };
      const storing = store();
      // Issued in the same tick as the entry's script, so auto-pipelining sends both in one
      // socket write (a write each was profiled as a third of the app's CPU per balance update).
      // An index key only maps the value to the id, true in MongoDB whatever the entry's outcome.
      void this.setIndexes(doc, ttl, WRITE).catch(() => undefined);
      const stored = await storing;
      const outcome = stored ? "stored" : await this.afterRefusedWrite(key, doc, store);
      metrics.writeThroughs.inc({ ...this.labels, outcome });
    } catch (err) {
      metrics.writeThroughs.inc({ ...this.labels, outcome: "deferred" });
      await this.owe(doc.id, versionOf(doc), this.indexKeysOf(doc), err);
    } finally {
      end();
    }
  }

  /**
   * Empties the entry (see CacheCore.drop) and the index keys of `known` documents (the values
   * the entry may be indexed under: the cached one, MongoDB's).
   */
  async invalidateEntry(
    id: string,
    version: number,
    known: readonly Record<string, unknown>[],
  ): Promise<void> {
    this.core.metrics.invalidations.inc(this.labels);
    const index = [...new Set(known.flatMap((d) => this.indexKeysOf(d)))];
    try {
      await this.core.breaker.run(() => this.core.drop(this.key(id), version), WRITE);
      if (index.length) await this.core.breaker.run(() => this.core.cache.del(index), WRITE);
    } catch (err) {
      await this.owe(id, version, index, err);
    }
  }

  /**
   * validate/sync: the entry rebuilt from MongoDB the way a miss fills it — emptied, leased, then
   * read — so a write acknowledged meanwhile is never overwritten by the document read here.
   * Rejects when Redis cannot take the reset.
   */
  async refresh(id: string): Promise<T | null> {
    const lease = await this.prepareRefresh(id);
    const doc = await this.raw(id);
    if (!doc) return null;
    const fresh = this.sanitize(doc);
    await this.fill(fresh, lease);
    return fresh;
  }

  /** The first half of `refresh`, for callers that read many documents at once (bulk sync). */
  async prepareRefresh(id: string): Promise<FillLease> {
    await this.core.breaker.run(() => this.core.cache.del([this.key(id)]));
    return this.lease(id);
  }

  /**
   * A write-through found no older live entry to move forward. A live entry at this version or
   * newer stays. Otherwise (absent, a fill's lease, a tombstone) this version may not be the
   * latest — a newer one may have been written through and evicted — so the key is emptied
   * (taking any fill's lease with it) and filled as a miss would: leased, then MongoDB's current
   * document.
   *
   * A key this instance cannot read is emptied too. After a Redis restart its failover fence
   * refuses reads until its repair ran, while another instance may already serve: giving up here
   * would acknowledge the write with a debt that instance never sees, and a fill of the older
   * version holding the lease would land and be served (docs/CONSISTENCY.md, "Redis restarts").
   * Emptying is never wrong; only if Redis refuses that too is the write a debt.
   */
  private async afterRefusedWrite(
    key: string,
    doc: T,
    store: () => Promise<boolean>,
  ): Promise<"stored" | "newer" | "refilled"> {
    const version = versionOf(doc);
    for (let attempt = 0; ; attempt++) {
      const read = this.core.breaker.run(() => this.core.cache.get(key), WRITE);
      const current = this.core.protections.emptyUnreadable
        ? await read.catch(() => null)
        : await read;
      const held = current === null ? null : (JSON.parse(current) as T);
      if (held && versionOf(held) >= version) return "newer";
      // An older entry refuses only a write whose carried times are earlier than its own
      // (queued by write-behind meanwhile): taken, then written again.
      const carry = this.carry;
      if (held && carry && attempt < 3 && takeLater(doc, held, carry.fields)) {
        if (await store()) return "stored";
        continue;
      }
      await this.core.breaker.run(() => this.core.drop(key, version), WRITE);
      await this.refill(doc.id);
      return "refilled";
    }
  }

  /**
   * Write-behind queued later times for `id`'s carried fields (after writing its overlay): the
   * live entry takes them at once, in place (same version, TTL kept), and a fill's lease found in
   * the key is deleted, since that fill may have read the overlay before this change (see
   * CarriedFields). The raise is a compare-and-swap the store does without re-encoding the entry.
   */
  async raiseLatest(id: string, times: Readonly<Record<string, number>>): Promise<void> {
    const carry = this.carry;
    if (!carry) return;
    const iso: Record<string, string> = {};
    for (const f of carry.fields) {
      const t = times[f];
      if (typeof t === "number" && Number.isFinite(t)) iso[f] = new Date(t).toISOString();
    }
    if (Object.keys(iso).length === 0) return;
    const key = this.key(id);
    const { cache, protections } = this.core;
    const breakLease = protections.carriedTimes;
    try {
      let current = await cache.raiseLatest(key, iso, undefined, breakLease);
      for (let attempt = 0; current !== null && attempt < 5; attempt++) {
        const held = JSON.parse(current) as Record<string, unknown>;
        takeLater(held, iso, carry.fields);
        const swap = { expected: current, replacement: JSON.stringify(held) };
        current = await cache.raiseLatest(key, iso, swap, breakLease);
      }
    } finally {
      // Near caches hold the entry as it was: dropped here and on every instance (the feed), so a
      // near hit needs no read of the overlay (raised or not in Redis, the next fill takes it).
      await this.near?.changedInPlace(id);
    }
  }

  /** Best effort: a failure leaves the key empty, which the next read fills. */
  private async refill(id: string): Promise<void> {
    try {
      const lease = await this.lease(id);
      if (!lease.held) return;
      const doc = await this.raw(id);
      if (doc) await this.fill(this.sanitize(doc), lease);
    } catch {
      // MongoDB down right after it took the write: the empty key is correct.
    }
  }

  /**
   * A miss's MongoDB read, through the repository (its `read` hooks see it): the document as the
   * store has it (sensitive fields already removed; as stored, FILL_READ), sanitized by the caller.
   */
  loadFromStore(filter: Record<string, unknown>): Promise<Doc | null> {
    return this.ctx.repo.collection(this.decl.name, FILL_READ).findOne(filter);
  }

  /**
   * A document read outside a fill (no lease, so no FillLease.queued) with its carried fields'
   * queued times taken: one read of their key once the id is known.
   */
  async withQueuedTimes(doc: T): Promise<T> {
    const carry = this.carry;
    if (!carry) return doc;
    const [queued] = await this.readCompanions([carry.companionKey(doc.id)]);
    takeQueued(doc, queued, carry.fields);
    return doc;
  }

  /** Many misses' MongoDB read, through the repository like `loadFromStore`: one query. */
  loadManyFromStore(ids: readonly string[]): Promise<Doc[]> {
    const oids = ids.filter(isHexId).map((id) => new ObjectId(id));
    if (oids.length === 0) return Promise.resolve([]);
    return this.ctx.repo.collection(this.decl.name, FILL_READ).find({ _id: { $in: oids } });
  }

  /** Raw MongoDB document (secrets included): never returned to a caller as is. */
  raw(id: string): Promise<Doc | null> {
    if (!isHexId(id)) return Promise.resolve(null);
    return this.core.observeMongo(
      this.ctx.stores.db.collection(this.decl.name).findOne({ _id: new ObjectId(id) }),
    );
  }

  /** Raw MongoDB documents of many ids, in one query. */
  rawMany(ids: readonly string[]): Promise<Doc[]> {
    const oids = ids.filter(isHexId).map((id) => new ObjectId(id));
    if (oids.length === 0) return Promise.resolve([]);
    return this.core.observeMongo(
      this.ctx.stores.db.collection(this.decl.name).find({ _id: { $in: oids } }),
    );
  }

  /** Records a debt for this entry; users keep the first stage's debt shape (repair-log.ts). */
  protected owe(
    id: string,
    version: number,
    index: readonly string[],
    err: unknown,
  ): Promise<void> {
    const record = () => this.core.repairs.recordEntry(this.decl.name, id, version, index);
    return this.core.recordDebt(record, err, { collection: this.decl.name, id });
  }

  /** Settles one recorded debt (called by the core's repair pass, Redis reachable again). */
  protected async settle(entry: RepairEntry): Promise<void> {
    if (entry.entryId) await this.core.drop(this.key(entry.entryId), entry.version);
    if (entry.index?.length) await this.core.cache.del(entry.index);
  }
}

function withVersion(doc: Record<string, unknown>, field: string): Record<string, unknown> {
  if (field in doc) doc.version = doc[field];
  return doc;
}

const identity = <V>(v: V): V => v;

/** A document written without a version (by another service) counts as version 0. */
export const versionOf = (doc: { version?: unknown }): number =>
  typeof doc.version === "number" ? doc.version : 0;

export { DELETED_VERSION };
