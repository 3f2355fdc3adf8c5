import pMap from "p-map";
import type { Lock } from "../../../src/core/locks";
import type { PluginContext } from "../../../src/core/plugin";
import { consistencyMetrics } from "./metrics";

export interface ConsistencyCheckOptions {
  /** Documents sampled per round in each cached collection (default CONSISTENCY_CHECK_SAMPLE). */
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
const LOCK_NAME = "consistency-check";
export const consistencyLockKey = (prefix: string) => `${prefix}lock:${LOCK_NAME}`;

const DEFAULT_CONCURRENCY = 16;
const DEFAULT_LOCK_TTL_MS = 5 * 60_000;

/**
 * One round of the periodic check (SPEC §5, §8): under a cluster-wide lock so N instances do one
 * round, not N; samples every declared collection straight from MongoDB (`$sample`, no hooks:
 * only ids are needed and the cache must not be filled by the act of checking it); validates and
 * repairs each through the collection's cache, the same code path as
 * `POST /cache/{collection}/validate/{id}` (and, for users, `POST /cache/validate/:userId`).
 */
export async function runConsistencyCheck(
  ctx: PluginContext,
  opts: ConsistencyCheckOptions = {},
): Promise<ConsistencyCheckResult> {
  let lock: Lock | null;
  try {
    lock = await ctx.locks.acquire(LOCK_NAME, opts.lockTtlMs ?? DEFAULT_LOCK_TTL_MS);
  } catch (err) {
    ctx.logger.warn({ err }, "consistency check skipped: Redis unavailable");
    return { skipped: true, reason: "redis-unavailable" };
  }
  if (!lock) {
    ctx.logger.debug("consistency check skipped: another instance holds the lock");
    return { skipped: true, reason: "locked" };
  }
  try {
    const { consistencyChecks } = consistencyMetrics(ctx.metrics);
    const size = opts.sample ?? ctx.config.CONSISTENCY_CHECK_SAMPLE;
    let checked = 0;
    let fixed = 0;
    let errors = 0;
    // Every declared collection, each sampled alike: the same engine validates them all.
    for (const cache of ctx.use("cache").all()) {
      const collection = cache.name;
      const docs = await ctx.repo.collection(collection, { hooks: false }).sample(size);
      checked += docs.length;
      await pMap(
        docs.map((d) => d._id.toHexString()),
        async (id) => {
          try {
            const report = await cache.validate(id);
            if (report.consistent) {
              consistencyChecks.inc({ collection, result: "consistent" });
            } else {
              fixed++;
              consistencyChecks.inc({ collection, result: "fixed" });
              ctx.logger.warn(
                { collection, id, cachedVersion: report.cached.version },
                "consistency check repaired a stale cache entry",
              );
            }
          } catch (err) {
            errors++;
            consistencyChecks.inc({ collection, result: "error" });
            ctx.logger.debug({ err, collection, id }, "consistency check failed for an entry");
          }
        },
        { concurrency: opts.concurrency ?? DEFAULT_CONCURRENCY },
      );
    }
    const result = { skipped: false as const, checked, fixed, errors };
    ctx.logger.info(result, "consistency check done");
    return result;
  } finally {
    await lock.release();
  }
}
