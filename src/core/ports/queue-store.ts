import type { StoreConnection } from "./store-connection";

/** One stream entry: its id (`<ms>-<seq>`) and its field/value pairs. */
export interface StreamEntry {
  id: string;
  fields: Record<string, string>;
}

/**
 * Write-behind (plugins/cache/write-behind): a durable queue in one Redis Stream read by a consumer
 * group, and a small overlay per changed document. Every call touches one key, so all of it
 * works unchanged on Redis Cluster.
 */
export interface QueueStore extends StoreConnection {
  /**
   * A write-behind overlay, one string key holding a JSON object of strings (read with `get` or
   * `mget`, beside the document's entry): adds each `add` amount to its integer field and raises
   * each `max` field to the given value when it is larger (or absent); a new overlay first gets a
   * `gen` field, unique and increasing (the server's clock in µs), so one lost and recreated is
   * told apart. A hash at the key (the previous format) is taken over with its fields. Refreshes
   * the TTL. Atomic (one script). Resolves with the whole overlay after the change.
   */
  overlayAccumulate(
    key: string,
    add: Readonly<Record<string, number>>,
    max: Readonly<Record<string, number>>,
    ttlSeconds: number,
  ): Promise<Record<string, string>>;

  /**
   * XADD with `MAXLEN ~ maxLen`, refused (null) when the stream already holds `maxLen` entries:
   * a durable queue must push back, never trim an entry nobody has flushed yet. Returns the id.
   */
  streamAdd(
    key: string,
    fields: Readonly<Record<string, string>>,
    maxLen: number,
  ): Promise<string | null>;

  /** XGROUP CREATE … 0 MKSTREAM: the group reads the stream from its start; an existing one is kept. */
  streamEnsureGroup(key: string, group: string): Promise<void>;

  /**
   * XREADGROUP … COUNT count STREAMS key >: up to `count` entries never delivered to the group,
   * now pending for `consumer`. Never blocks. A missing group (Redis restarted empty) is created.
   */
  streamReadGroup(
    key: string,
    group: string,
    consumer: string,
    count: number,
  ): Promise<StreamEntry[]>;

  /**
   * XAUTOCLAIM … minIdleMs 0 COUNT count: entries delivered but not acknowledged for at least
   * `minIdleMs` (their consumer died), oldest first, now pending for `consumer`.
   */
  streamAutoClaim(
    key: string,
    group: string,
    consumer: string,
    minIdleMs: number,
    count: number,
  ): Promise<StreamEntry[]>;

  /** XACK then XDEL in one script: the stream keeps only what is not flushed yet. */
  streamAckDelete(key: string, group: string, ids: readonly string[]): Promise<number>;

  /** XLEN and the oldest entry's id (null when empty): the queue's depth and age. */
  streamBacklog(key: string): Promise<{ length: number; oldestId: string | null }>;
}
