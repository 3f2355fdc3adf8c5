/**
 * What every Redis-shaped port shares: the connection's life. Every method of a port built on it
 * either resolves within the configured timeout or rejects with `StoreUnavailableError("redis")`;
 * none hangs.
 */
export interface StoreConnection {
  /** "redis" or "memory". */
  readonly kind: string;

  /**
   * `repair` runs after the store detected a failover (a server that may have lost acknowledged
   * writes took over); reads are refused until it succeeds. A store that cannot fail over
   * (in-process) never calls it.
   */
  onFailover(repair: () => Promise<void>): void;

  ping(): Promise<void>;
  /** True while the adapter believes the server is reachable. */
  isConnected(): boolean;
  close(): Promise<void>;
}
