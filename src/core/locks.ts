import type { LockStore } from "./ports/lock-store";

/** A held lock. `release` never rejects: a lock it could not release expires with its TTL. */
export interface Lock {
  release(): Promise<void>;
}

export type LockRun<T> = { held: true; value: T } | { held: false };

/**
 * The one lock implementation: every plugin that needs mutual exclusion across instances, or a
 * key that only its first taker may claim, goes through this service (`ctx.locks`).
 * Locks live at `${CACHE_PREFIX}lock:<name>` with a random token, so only their holder releases
 * them, and a TTL, so a holder that dies cannot block the others for good.
 */
export interface Locks {
  /** The lock, or null when another holder has it; rejects when the store cannot be reached. */
  acquire(name: string, ttlMs: number): Promise<Lock | null>;
  /** Runs `fn` holding the lock; `{ held: false }` without running it when another holder has it. */
  withLock<T>(name: string, ttlMs: number, fn: () => Promise<T>): Promise<LockRun<T>>;
  /**
   * True for the first caller to claim `${CACHE_PREFIX}<name>` within `ttlMs` (a single-use
   * ticket), false for every later one; nobody releases a claim, it expires.
   */
  claimOnce(name: string, ttlMs: number): Promise<boolean>;
}

export function createLocks(store: LockStore, prefix: string): Locks {
  const acquire = async (name: string, ttlMs: number): Promise<Lock | null> => {
    const key = `${prefix}lock:${name}`;
    const token = crypto.randomUUID();
    if (!(await store.acquireLock(key, token, ttlMs))) return null;
    return { release: () => store.releaseLock(key, token).catch(() => {}) };
  };
  return {
    acquire,
    async withLock(name, ttlMs, fn) {
      const lock = await acquire(name, ttlMs);
      if (!lock) return { held: false };
      try {
        return { held: true, value: await fn() };
      } finally {
        await lock.release();
      }
    },
    claimOnce: (name, ttlMs) => store.acquireLock(`${prefix}${name}`, "claimed", ttlMs),
  };
}
