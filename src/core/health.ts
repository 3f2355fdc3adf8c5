import type { StoreConnection } from "./ports/store-connection";

/** Store reachability for plugins (`ctx.health`), without handing them the stores. */
export interface Health {
  /** Resolves when MongoDB answers; rejects (StoreUnavailableError) otherwise. */
  pingMongo(): Promise<void>;
  /** Resolves when Redis answers; rejects (StoreUnavailableError) otherwise. */
  pingRedis(): Promise<void>;
  /** Whether the Redis adapter currently believes the server is reachable (no round trip). */
  redisConnected(): boolean;
}

export function createHealth(db: { ping(): Promise<void> }, cache: StoreConnection): Health {
  return {
    pingMongo: () => db.ping(),
    pingRedis: () => cache.ping(),
    redisConnected: () => cache.isConnected(),
  };
}
