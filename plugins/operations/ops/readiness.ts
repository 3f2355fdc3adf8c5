import type { PluginContext } from "../../../src/core/plugin";

export interface Readiness {
  mongo: "up" | "down";
  redis: "up" | "down";
}

/**
 * Pings both stores in parallel, each under its own timeout. The adapters time out already; the
 * extra bound makes /ready answer in time even if one did not, since a probe that hangs is
 * read as "down" by the balancer anyway, only later.
 */
export async function checkReadiness(ctx: PluginContext): Promise<Readiness> {
  const [mongo, redis] = await Promise.all([
    // What /ready learns about MongoDB, the stale mark on cached reads learns too.
    probe(() => observedByCache(ctx, ctx.health.pingMongo()), ctx.config.MONGO_TIMEOUT_MS),
    probe(() => ctx.health.pingRedis(), ctx.config.REDIS_TIMEOUT_MS),
  ]);
  return { mongo, redis };
}

const observedByCache = (ctx: PluginContext, ping: Promise<void>) =>
  ctx.has("cacheEngine") ? ctx.use("cacheEngine").observeMongo(ping) : ping;

async function probe(ping: () => Promise<void>, timeoutMs: number): Promise<"up" | "down"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"down">((resolve) => {
    timer = setTimeout(() => resolve("down"), timeoutMs);
  });
  try {
    return await Promise.race([
      ping().then(
        () => "up" as const,
        () => "down" as const,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
