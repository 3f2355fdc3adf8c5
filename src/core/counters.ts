import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
} from "rate-limiter-flexible";
import type { StoreConnection } from "./ports/store-connection";

type LimiterOptions = Omit<ConstructorParameters<typeof RateLimiterMemory>[0], "keyPrefix">;

/** Deployment-wide counters for plugins (`ctx.counters`): rate limits so far. */
export interface Counters {
  /** A rate-limiter-flexible limiter whose keys start with `${CACHE_PREFIX}rl:<name>`. */
  limiter(name: string, options: LimiterOptions): RateLimiterAbstract;
}

/**
 * Limiters on the deployment's store: Redis (or a Redis Cluster client) when the cache is Redis,
 * so every instance counts together; the process's memory on the embedded store. While Redis is
 * unreachable an in-memory insurance limiter with the same rules takes over (per instance, so an
 * attacker gains at most a factor of the instance count), and callers never wait on a down
 * Redis: the command client has no offline queue and a timeout.
 */
export function createCounters(store: StoreConnection, prefix: string): Counters {
  const client = redisClientOf(store);
  return {
    limiter(name, opts) {
      const keyPrefix = `${prefix}rl:${name}`;
      if (!client) return new RateLimiterMemory({ ...opts, keyPrefix });
      return new RateLimiterRedis({
        ...opts,
        keyPrefix,
        storeClient: client,
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory({ ...opts, keyPrefix }),
      });
    },
  };
}

/** The ioredis client behind a Redis cache store (standalone or Cluster), if it is one. */
function redisClientOf(store: StoreConnection): object | undefined {
  if (store.kind !== "redis") return undefined;
  const client = (store as { client?: unknown }).client;
  return typeof client === "object" && client !== null ? client : undefined;
}
