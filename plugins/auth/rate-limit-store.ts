import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
} from "rate-limiter-flexible";
import type { PluginContext } from "../../src/core/plugin";

type LimiterOptions = ConstructorParameters<typeof RateLimiterMemory>[0];

/**
 * A rate-limiter-flexible limiter on the deployment's store: Redis (or a Redis Cluster client)
 * when the cache is Redis, so every instance counts together; the process's memory on the
 * embedded store. While Redis is unreachable an in-memory insurance limiter with the same rules
 * takes over (per instance, so an attacker gains at most a factor of the instance count), and
 * login never waits on a down Redis: the command client has no offline queue and a timeout.
 */
export function createLimiter(
  ctx: PluginContext,
  name: string,
  opts: Omit<LimiterOptions, "keyPrefix">,
): RateLimiterAbstract {
  const keyPrefix = `${ctx.config.CACHE_PREFIX}rl:${name}`;
  const client = redisClientOf(ctx.cache);
  if (!client) return new RateLimiterMemory({ ...opts, keyPrefix });
  return new RateLimiterRedis({
    ...opts,
    keyPrefix,
    storeClient: client,
    rejectIfRedisNotReady: true,
    insuranceLimiter: new RateLimiterMemory({ ...opts, keyPrefix }),
  });
}

/** The ioredis client behind a Redis cache store (standalone or Cluster), if it is one. */
function redisClientOf(cache: PluginContext["cache"]): object | undefined {
  if (cache.kind !== "redis") return undefined;
  const client = (cache as { client?: unknown }).client;
  return typeof client === "object" && client !== null ? client : undefined;
}
