/**
 * The consistency protections, each of which a test can switch off to show that the stale-read
 * checker notices (docs/CONSISTENCY.md, "Mutation validation"). Production code never changes
 * them: no configuration reaches this object, and `CacheEngine.disableProtectionForTest` refuses
 * unless NODE_ENV is "test".
 */
export interface Protections {
  /** Cache writes go through set-if-newer; off: a plain SET (versions ignored, leases too). */
  versionedWrites: boolean;
  /** Invalidations leave a versioned tombstone; off: a plain DEL. */
  tombstones: boolean;
  /** A fill lands only under the lease it took before reading MongoDB; off: no lease. */
  fillLeases: boolean;
  /**
   * A single-flight load takes joiners only until its MongoDB read is issued; off: until it ends,
   * so a reader can get a read that began before a write acknowledged before it arrived.
   */
  singleFlightRule: boolean;
  /**
   * An owner list's fill reads its version (the owner's counter in MongoDB) before its query;
   * off: after it, so a fill can carry the version of a write its query missed. Guards the lists
   * where versions are the guard: fill leases off.
   */
  listVersionBeforeRead: boolean;
  /**
   * The breaker's probe settles the recorded debts before Redis is trusted again; off: it trusts
   * Redis at once, so an entry older than a write Redis missed stays until its TTL.
   */
  repairDebts: boolean;
  /**
   * A write-through that found no older live entry and cannot read the key (the failover fence
   * holds this instance's reads after a Redis restart) empties it; off: it gives up with a debt,
   * which another instance already serving from Redis never sees.
   */
  emptyUnreadable: boolean;
  /**
   * An entry keeps the "latest" times write-behind queued for it (CarriedFields): set-if-newer
   * refuses a write whose times are earlier than the entry's, and a queued time breaks a fill's
   * lease; off: neither, so a fill or a write-through can drop a queued time readers had seen.
   */
  carriedTimes: boolean;
  /**
   * An eager event (plugins/cache/events) is published only once the entry holds its version;
   * off: at once, unchecked, so a subscriber can read the entry before it holds the event's.
   */
  eventOrdering: boolean;
}

export type ProtectionName = keyof Protections;

export const PROTECTION_NAMES: readonly ProtectionName[] = [
  "versionedWrites",
  "tombstones",
  "fillLeases",
  "singleFlightRule",
  "listVersionBeforeRead",
  "repairDebts",
  "emptyUnreadable",
  "carriedTimes",
  "eventOrdering",
];

export const allProtections = (): Protections => ({
  versionedWrites: true,
  tombstones: true,
  fillLeases: true,
  singleFlightRule: true,
  listVersionBeforeRead: true,
  repairDebts: true,
  emptyUnreadable: true,
  carriedTimes: true,
  eventOrdering: true,
});
