import type { LockStore } from "./lock-store";
import type { QueueStore } from "./queue-store";
import type { StoreConnection } from "./store-connection";

/**
 * The versioned entry store (bentocache's driver shape: small, one job per method). Values are
 * strings; callers serialize. Versioned entries make cache writes move forward only (SPEC §2).
 * Entries belong to the cache layers; coordination keys (locks, counters) are the LockStore's.
 */
export interface EntryStore extends StoreConnection {
  /**
   * The live value, or null on a miss. A versioned tombstone left by `invalidateVersioned`
   * reads as a miss.
   */
  get(key: string): Promise<string | null>;

  /**
   * `get`, its answer handed to `onValue` (the live value or null) or its failure to `onError`
   * within the store's own promise step: the hot read path pays one promise hop over the client's
   * instead of one per layer. What the callbacks return (or throw) is what the promise settles to.
   */
  getThen<R>(
    key: string,
    onValue: (value: string | null) => R | PromiseLike<R>,
    onError: (err: unknown) => R | PromiseLike<R>,
  ): Promise<R>;

  /** Several keys at once (one round trip on Redis); tombstones read as null. */
  mget(keys: readonly string[]): Promise<(string | null)[]>;

  /**
   * Stores `value` only when `version` is newer than the stored entry's version, or equal to or
   * newer than a tombstone's. Returns true when stored. Atomic on the server (a Lua script on
   * Redis), single-key so it works on Redis Cluster.
   *
   * With `lease` (a cache-aside fill): stored only if the key still holds that fill lease, or a
   * tombstone/value it may replace under the version rules; never into an absent key, because an
   * absent key may mean the newer entry was evicted after this fill read MongoDB.
   * Without `lease` (a write-through, which carries MongoDB's latest version): an absent key or
   * any lease is replaced.
   *
   * `carried`: the incoming document's values (ISO-8601 times, "" for none) of the "latest"
   * fields the entry carries for write-behind; a live entry holding a later time for one of them
   * refuses the write (the caller reads it and writes again with the later times).
   */
  setIfNewer(
    key: string,
    value: string,
    version: number,
    ttlSeconds: number,
    lease?: string,
    carried?: Readonly<Record<string, string>>,
  ): Promise<boolean>;

  /**
   * Raises the carried "latest" fields of a live entry to `times` (ISO-8601), atomically and
   * without re-encoding it on the server: null when done (absent key, a tombstone, a live entry
   * already as late; a fill's lease is deleted so that fill cannot land without these times),
   * else the live value, which the caller parses, raises and offers again as
   * `swap = { expected: that value, replacement }` (swapped in, TTL kept, only if unchanged).
   * `breakLease` false leaves a lease in place (a mutation test's switch).
   */
  raiseLatest(
    key: string,
    times: Readonly<Record<string, string>>,
    swap?: { expected: string; replacement: string },
    breakLease?: boolean,
  ): Promise<string | null>;

  /**
   * Marks an absent key as "being filled by `token`" (SET NX PX), before the fill reads MongoDB.
   * Reads see a miss. Returns false when the key exists (the fill then relies on versions).
   */
  acquireFillLease(key: string, token: string, ttlMs: number): Promise<boolean>;

  /**
   * Replaces the entry with a tombstone carrying max(version, stored version) for `markerTtlMs`,
   * so a slow fill that read an older version cannot land afterwards.
   */
  invalidateVersioned(key: string, version: number, markerTtlMs: number): Promise<void>;

  /** Unconditional set with TTL (index keys such as the email → id map). */
  set(key: string, value: string, ttlSeconds: number): Promise<void>;

  /** Deletes keys; returns how many existed. */
  del(keys: readonly string[]): Promise<number>;

  /** Remaining TTL in seconds; -2 missing, -1 no expiry. */
  ttl(key: string): Promise<number>;

  /**
   * Counts keys matching a glob by iterating SCAN (never KEYS), so it is safe on a large Redis.
   */
  scanCount(pattern: string): Promise<number>;

  /** Iterates keys matching a glob with SCAN, in batches. */
  scan(pattern: string, onBatch: (keys: string[]) => Promise<void> | void): Promise<void>;
}

/** What an adapter implements: the three ports on one connection. */
export interface CacheStore extends EntryStore, LockStore, QueueStore {}

/** Tombstones are stored in the user's own key; this is their JSON marker field. */
export const TOMBSTONE_FIELD = "__tombstone";
/** Fill leases likewise (Facebook memcache's leases, in the key itself for Cluster safety). */
export const LEASE_FIELD = "__lease";
/** Every marker's JSON starts with this; a value that does reads as a miss. */
export const MARKER_PREFIX = '{"__';
