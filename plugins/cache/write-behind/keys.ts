/**
 * Redis keys of the write-behind queue. One stream for the whole deployment (one key per command,
 * so it works unchanged on Redis Cluster, where it lives on one shard) and one small overlay per
 * changed document (a JSON string, read in the same MGET as the entry), beside (not inside) its
 * versioned cache entry. Its name is the one the overlay hashes of the previous format had: the
 * script that updates an overlay takes such a hash over in place (scripts/write-behind.ts).
 */
export interface WriteBehindKeys {
  queue: string;
  /** Held by the one instance flushing at a time. */
  lease: string;
  overlay(collection: string, id: string): string;
}

export const CONSUMER_GROUP = "flushers";

export function writeBehindKeys(prefix: string): WriteBehindKeys {
  return {
    queue: `${prefix}wb:queue`,
    lease: `${prefix}wb:flusher`,
    overlay: (collection, id) => `${prefix}wb:${collection}:${id}`,
  };
}

/** Long enough to outlive any flush lag: an overlay that expires while changes wait shows less. */
export const OVERLAY_TTL_SECONDS = 7 * 86_400;

/**
 * `<ms>-<seq>` padded so MongoDB compares stream ids as strings in their real order
 * ("…-10" would otherwise sort before "…-9").
 */
export function sortableId(id: string): string {
  const [ms = "0", seq = "0"] = id.split("-");
  return `${ms.padStart(16, "0")}-${seq.padStart(10, "0")}`;
}

/** The stream id's clock part: when the change was queued (epoch ms). */
export const idTime = (id: string): number => Number(id.split("-")[0]);
