import { ObjectId } from "bson";
import type { PluginContext } from "../../../../src/core/plugin";
import type { CacheCore } from "../core";
import { markStale } from "../stale-scope";
import { DEFAULT_LIST_TTL_SECONDS, type OwnerListDeclaration } from "./declaration";
import type { ListMetrics } from "./metrics";
import { idHex } from "./owner-ids";
import type { ListVersions } from "./versions";

/**
 * `<prefix>lists:<name>:<owner hex>`. Not the clock-versioned cache's `list:` keys: their
 * versions (epoch milliseconds) would outrank every counter value until they expired.
 */
export const listKey = (prefix: string, name: string, owner: string) =>
  `${prefix}lists:${name}:${owner}`;

/** The stored value; `version` is what the set-if-newer and tombstone scripts read. */
interface ListEntry {
  version: number;
  ids: string[];
}

export interface ListRead {
  /** In list order: member `_id`s, or the picked field's ids. */
  ids: string[];
  /** The owner's list version the ids were read at; null when the owner id is not cacheable. */
  version: number | null;
  source: "cache" | "db";
}

const WRITE = { write: true } as const;

const parseEntry = (raw: string): ListEntry | null => {
  const v = JSON.parse(raw) as Partial<ListEntry>;
  return typeof v.version === "number" && Array.isArray(v.ids) ? (v as ListEntry) : null;
};

/**
 * One declared owner list, under the entity cache's rules (docs/CONSISTENCY.md, "Owner lists"):
 * a miss takes a fill lease and reads the owner's version counter, both before its query, and
 * stores `{ version, ids }` only under that lease with set-if-newer; a write to a member bumps
 * the counter once MongoDB took it, then empties the key. No clock is read anywhere.
 */
export class OwnerList {
  private readonly ttl: number;
  private readonly field: string;
  // Children bound once: a hit pays no label lookup.
  private readonly hit: { inc(): void };
  private readonly miss: { inc(): void };

  constructor(
    readonly declaration: OwnerListDeclaration,
    private readonly ctx: PluginContext,
    private readonly core: CacheCore,
    private readonly versions: ListVersions,
    metrics: ListMetrics,
  ) {
    this.ttl = declaration.ttlSeconds ?? DEFAULT_LIST_TTL_SECONDS;
    this.field = declaration.pick ?? "_id";
    const labels = { collection: declaration.collection };
    this.hit = metrics.hits.labels(labels);
    this.miss = metrics.misses.labels(labels);
  }

  get name(): string {
    return this.declaration.name;
  }

  key(owner: string): string {
    return listKey(this.ctx.config.CACHE_PREFIX, this.name, owner);
  }

  async ids(owner: string): Promise<string[]> {
    return (await this.read(owner)).ids;
  }

  /** From Redis, or (a miss, Redis failing) from MongoDB, filling the entry when it may. */
  async read(owner: string): Promise<ListRead> {
    const hex = idHex(owner);
    if (hex === null) return { ids: await this.query(owner), version: null, source: "db" };
    if (this.core.breaker.allows()) {
      try {
        const raw = await this.core.breaker.run(() => this.ctx.stores.cache.get(this.key(hex)));
        const entry = raw === null ? null : parseEntry(raw);
        if (entry) {
          this.hit.inc();
          if (this.core.mongoDegraded()) markStale();
          return { ids: entry.ids, version: entry.version, source: "cache" };
        }
      } catch (err) {
        this.core.redisError(err);
      }
    }
    this.miss.inc();
    return this.load(hex);
  }

  /**
   * The documents a read of `ids` resolved (aligned with them, null where none was found) with
   * the missing ones dropped, and for a list of members those that no longer name the owner
   * (moved or deleted by a writer no hook or stream event told about). Documents come in the
   * stored shape or the API shape alike (`_id` or `id`, the owner as an ObjectId or its hex).
   */
  arrange<T extends object>(owner: string, resolved: readonly (T | null)[]): T[] {
    const hex = idHex(owner);
    const field = this.declaration.owner;
    const members = this.declaration.pick === undefined;
    return resolved.filter(
      (d): d is T =>
        d !== null && (!members || idHex((d as Record<string, unknown>)[field]) === hex),
    );
  }

  /**
   * After MongoDB took (or may have taken) a write to members of these owners' lists: each
   * counter bumped, then each key emptied. Redis failing: the key is owed in the repair log and
   * the breaker opens, so the entry is not read again before the probe emptied it.
   */
  async changed(owners: Iterable<string>): Promise<void> {
    await Promise.all(
      [...new Set(owners)].map(async (owner) => {
        const key = this.key(owner);
        let version = 0;
        try {
          version = await this.core.observeMongo(this.versions.bump(this.name, owner));
        } catch (err) {
          // Emptying the key is enough under leases; the version only orders fills without them.
          this.ctx.logger.warn({ err, list: this.name, owner }, "list version not bumped");
        }
        try {
          // Emptied, as the core empties every entry under leases: an absent key admits only a
          // fill that leased it after this point, where a tombstone's version floor could be left
          // behind the truth by an eviction (docs/CONSISTENCY.md, "Owner lists").
          await this.core.breaker.run(() => this.core.drop(key, version), WRITE);
        } catch (err) {
          await this.core.oweKey(key, version, err);
        }
      }),
    );
  }

  private async load(owner: string): Promise<ListRead> {
    const key = this.key(owner);
    const on = this.core.protections;
    const token = this.core.leaseToken();
    // Both before the query: the lease so that a write or eviction meanwhile refuses the fill,
    // the version so that it is at most that of the last write the query can have missed.
    const [leased, before] = await Promise.all([
      on.fillLeases ? this.lease(key, token) : Promise.resolve(true),
      on.listVersionBeforeRead ? this.version(owner) : Promise.resolve(null),
    ]);
    const ids = await this.query(owner);
    const version = before ?? (await this.version(owner));
    if (leased) await this.store(key, { version, ids }, on.fillLeases ? token : undefined);
    return { ids, version, source: "db" };
  }

  private async query(owner: string): Promise<string[]> {
    const { collection, owner: field, sort, limit } = this.declaration;
    // The owner stored as an ObjectId or as its hex string (members written by other services).
    const names = idHex(owner) === owner ? [new ObjectId(owner), owner] : [owner];
    const docs = await this.core.observeMongo(
      this.ctx.repo
        .collection(collection)
        .find({ [field]: { $in: names } }, { sort, limit, projection: { [this.field]: 1 } }),
    );
    return docs.map((d) => idHex(d[this.field])).filter((h): h is string => h !== null);
  }

  private version(owner: string): Promise<number> {
    return this.core.observeMongo(this.versions.read(this.name, owner));
  }

  /** A lease in the empty key (SET NX); false when the key is not empty or Redis fails. */
  private async lease(key: string, token: string): Promise<boolean> {
    if (!this.core.breaker.allows()) return false;
    const ttlMs = this.ctx.config.CACHE_MARKER_TTL_MS;
    return this.core.breaker
      .run(() => this.ctx.stores.cache.acquireFillLease(key, token, ttlMs))
      .catch((err: unknown) => {
        this.core.redisError(err);
        return false;
      });
  }

  /** Best effort: set-if-newer under the lease (a plain SET with that protection off). */
  private async store(key: string, entry: ListEntry, lease: string | undefined): Promise<void> {
    if (!this.core.breaker.allows()) return;
    const json = JSON.stringify(entry);
    try {
      await this.core.breaker.run(() =>
        this.core.storeVersioned(key, json, entry.version, this.ttl, lease),
      );
    } catch (err) {
      this.core.redisError(err);
    }
  }
}
