import { StoreUnavailableError } from "../../../src/core/errors";
import type { PluginContext } from "../../../src/core/plugin";
import { cacheMetrics } from "../../cache/cache-sync";
import { counted } from "../../cache/cache-sync/collection-cache";
import { emailKey, userKey } from "../../cache/cache-sync/keys";
import type { ConsistencySummary } from "../observatory";

export interface CacheStats {
  totalUserKeys: number | null;
  emailKeys: number | null;
  redisConnected: boolean;
  timestamp: string;
  hits: number;
  misses: number;
  hitRatio: number;
  /** Not a §5 field: the observatory's summary, when that plugin is loaded. */
  consistency?: ConsistencySummary;
}

// Exactly `user:<24 hex>`: the email index (`user:email:…`) cannot match since "m" is not hex.
const ID_GLOB = "[0-9a-f]".repeat(24);

/**
 * Key counts by SCAN (never KEYS, SPEC §4). A tombstone left by an invalidation sits in the
 * user's own key for CACHE_MARKER_TTL_MS and is counted: telling it apart would cost a GET per
 * key. Hits and misses are this instance's counters (prom-client), not cluster-wide.
 * A Redis outage is an answer here, not an error: counts are null and redisConnected false.
 */
export async function readCacheStats(ctx: PluginContext): Promise<CacheStats> {
  const prefix = ctx.config.CACHE_PREFIX;
  let totalUserKeys: number | null = null;
  let emailKeys: number | null = null;
  try {
    [totalUserKeys, emailKeys] = await Promise.all([
      ctx.stores.cache.scanCount(userKey(prefix, ID_GLOB)),
      ctx.stores.cache.scanCount(emailKey(prefix, "*")),
    ]);
  } catch (err) {
    if (!(err instanceof StoreUnavailableError)) throw err;
  }
  const { cacheHits, cacheMisses } = cacheMetrics(ctx.metrics);
  const [hits, misses] = await Promise.all([
    counted(cacheHits, "users"),
    counted(cacheMisses, "users"),
  ]);
  const reads = hits + misses;
  return {
    totalUserKeys,
    emailKeys,
    redisConnected: totalUserKeys !== null && ctx.health.redisConnected(),
    timestamp: new Date().toISOString(),
    hits,
    misses,
    hitRatio: reads === 0 ? 0 : hits / reads,
    ...(ctx.has("observatory") ? { consistency: ctx.use("observatory").summary() } : {}),
  };
}
