export interface BusMessage {
  /** Monotonic per topic (a Redis Stream id on Redis); usable as an SSE `id:`. */
  id: string;
  payload: string;
}

export type Unsubscribe = () => Promise<void>;

/**
 * Cross-instance fan-out with a bounded replay window (Redis Stream + pub/sub in production,
 * in-process otherwise).
 */
export interface EventBus {
  readonly kind: string;
  /**
   * Appends `payload` to the topic's bounded log and delivers it to every subscriber on every
   * instance (this one included). Resolves with the event id.
   */
  publish(topic: string, payload: string): Promise<string>;
  /**
   * `publish`, done only if the cache entry `entryKey` holds `version` or a newer one when the
   * bus gets to it; null, publishing nothing, otherwise. Absent where the bus cannot check the
   * cache in the same step (in-process bus, Redis Cluster). Issued right behind the cache write
   * on the same connection, it saves the round trip between the write and its event.
   */
  publishAfter?(
    topic: string,
    payload: string,
    entryKey: string,
    version: number,
  ): Promise<string | null>;
  /** Handler runs for every message published after subscription, on any instance. */
  subscribe(topic: string, handler: (msg: BusMessage) => void): Promise<Unsubscribe>;
  /** Messages strictly after `afterId`, oldest first, at most `limit`, within the window. */
  since(topic: string, afterId: string, limit: number): Promise<BusMessage[]>;
  close(): Promise<void>;
}
