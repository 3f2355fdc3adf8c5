import type { PluginContext } from "../../../src/core/plugin";

/** Held for at most this long, so a holder that dies cannot block recovery for good. */
export const RECOVERY_LOCK_TTL_MS = 30_000;

/**
 * Runs `fn` under the cache's per-key lock `${CACHE_PREFIX}lock:${name}` (two instances
 * recovering at once, or a recovery and a retried request, do not both run it). Returns
 * `{ held: false }` without running `fn` when another holder has the lock.
 */
export async function withLock<T>(
  ctx: PluginContext,
  name: string,
  fn: () => Promise<T>,
): Promise<{ held: true; value: T } | { held: false }> {
  const key = `${ctx.config.CACHE_PREFIX}lock:${name}`;
  const token = crypto.randomUUID();
  if (!(await ctx.cache.acquireLock(key, token, RECOVERY_LOCK_TTL_MS))) return { held: false };
  try {
    return { held: true, value: await fn() };
  } finally {
    await ctx.cache.releaseLock(key, token).catch(() => {});
  }
}
