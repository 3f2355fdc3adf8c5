import type { StoreConnection } from "./store-connection";

/**
 * Coordination keys: locks and expiring counters, single-key so they work on Redis Cluster.
 * Plugins use them through the locks service (src/core/locks.ts), not directly.
 */
export interface LockStore extends StoreConnection {
  /** SET NX PX: true when acquired. */
  acquireLock(key: string, token: string, ttlMs: number): Promise<boolean>;
  /** Releases only if still held by `token`. */
  releaseLock(key: string, token: string): Promise<void>;

  /** Atomic counter with expiry set on first increment. */
  incrWithExpiry(key: string, ttlSeconds: number): Promise<number>;
}
