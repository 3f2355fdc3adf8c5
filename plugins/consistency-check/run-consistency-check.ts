import pMap from "p-map";
import type { PluginContext } from "../../src/core/plugin";
import { USER_COLLECTION } from "../../src/domain/user";
import { consistencyMetrics } from "./metrics";

export interface ConsistencyCheckOptions {
  /** Users sampled per round (default CONSISTENCY_CHECK_SAMPLE). */
  sample?: number;
  /** Validations in flight at once. */
  concurrency?: number;
  /** Lock lifetime: long enough for one round, short enough that a crashed holder frees it. */
  lockTtlMs?: number;
}

export type ConsistencyCheckResult =
  | { skipped: true; reason: "locked" | "redis-unavailable" }
  | { skipped: false; checked: number; fixed: number; errors: number };

/** The cluster-wide round lock: one key per deployment (prefix), whichever instance holds it. */
export const consistencyLockKey = (prefix: string) => `${prefix}lock:consistency-check`;

const DEFAULT_CONCURRENCY = 16;
const DEFAULT_LOCK_TTL_MS = 5 * 60_000;

/**
 * One round of the periodic check (SPEC §5): under a cluster-wide lock so N instances do one
 * round, not N; samples users straight from MongoDB (`$sample`, no hooks: only ids are needed and
 * the cache must not be filled by the act of checking it); validates and repairs each through the
 * CacheSyncService, the same code path as `POST /cache/validate/:userId`.
 */
export async function runConsistencyCheck(
  ctx: PluginContext,
  opts: ConsistencyCheckOptions = {},
): Promise<ConsistencyCheckResult> {
  const cacheSync = ctx.use("cacheSync");
  const lockKey = consistencyLockKey(ctx.config.CACHE_PREFIX);
  const token = crypto.randomUUID();
  let acquired: boolean;
  try {
    acquired = await ctx.cache.acquireLock(lockKey, token, opts.lockTtlMs ?? DEFAULT_LOCK_TTL_MS);
  } catch (err) {
    ctx.logger.warn({ err }, "consistency check skipped: Redis unavailable");
    return { skipped: true, reason: "redis-unavailable" };
  }
  if (!acquired) {
    ctx.logger.debug("consistency check skipped: another instance holds the lock");
    return { skipped: true, reason: "locked" };
  }
  try {
    const users = await ctx.db
      .collection(USER_COLLECTION)
      .sample(opts.sample ?? ctx.config.CONSISTENCY_CHECK_SAMPLE);
    const ids = users.map((u) => u._id.toHexString());
    let fixed = 0;
    let errors = 0;
    await pMap(
      ids,
      async (id) => {
        try {
          const report = await cacheSync.validateCacheConsistency(id);
          if (report.consistent) {
            consistencyMetrics(ctx.metrics).consistencyChecks.inc({ result: "consistent" });
          } else {
            fixed++;
            consistencyMetrics(ctx.metrics).consistencyChecks.inc({ result: "fixed" });
            ctx.logger.warn(
              { userId: id, difference: report.difference },
              "consistency check repaired a stale cache entry",
            );
          }
        } catch (err) {
          errors++;
          consistencyMetrics(ctx.metrics).consistencyChecks.inc({ result: "error" });
          ctx.logger.debug({ err, userId: id }, "consistency check failed for a user");
        }
      },
      { concurrency: opts.concurrency ?? DEFAULT_CONCURRENCY },
    );
    const result = { skipped: false as const, checked: ids.length, fixed, errors };
    ctx.logger.info(result, "consistency check done");
    return result;
  } finally {
    await ctx.cache.releaseLock(lockKey, token).catch(() => {});
  }
}
