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
  /** Handler runs for every message published after subscription, on any instance. */
  subscribe(topic: string, handler: (msg: BusMessage) => void): Promise<Unsubscribe>;
  /** Messages strictly after `afterId`, oldest first, at most `limit`, within the window. */
  since(topic: string, afterId: string, limit: number): Promise<BusMessage[]>;
  close(): Promise<void>;
}
