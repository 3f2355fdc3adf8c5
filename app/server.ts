import { createStores } from "../src/adapters";
import { type CachesyncApp, createApp } from "../src/core/app";
import { loadConfigOrExit } from "../src/core/config";
import { createLogger, type Logger } from "../src/core/logger";
import { startupFailure } from "../src/core/startup-failure";
import { defaultPlugins } from "./plugins";

/**
 * `bun start`: config from the environment (exits 1 naming the bad variable), stores, plugins,
 * HTTP server, graceful shutdown on SIGTERM/SIGINT.
 */
async function main() {
  const config = loadConfigOrExit();
  const logger = createLogger(config.LOG_LEVEL);
  const stores = await createStores(config, logger);
  let instance: CachesyncApp | undefined;
  try {
    instance = await createApp({
      config,
      plugins: defaultPlugins(),
      stores,
      logger,
      defaultMetrics: config.METRICS_ENABLED,
    });
    // Indexes, the admin bootstrap and money recovery need MongoDB: without it we fail fast and
    // clearly (an orchestrator restarts us), rather than serve with unique indexes missing.
    // Redis down is tolerated here: the API then runs on MongoDB alone.
    await instance.ready();
  } catch (err) {
    return cannotStart(logger, err, instance);
  }
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({
      port: config.PORT,
      hostname: config.HOST,
      fetch: instance.app.fetch,
      // Idle and stalled connections (a body that stops arriving, a silent keep-alive) are
      // closed; SSE streams opt out per request (see plugins/features/sse) and rely on their heartbeats.
      idleTimeout: config.IDLE_TIMEOUT_SECONDS,
    });
  } catch (err) {
    return cannotStart(logger, err, instance, { host: config.HOST, port: config.PORT });
  }
  logger.info(
    { url: server.url.href, db: stores.db.kind, cache: stores.cache.kind },
    "cachesync listening",
  );

  let stopping = false;
  let skipDelay: (() => void) | undefined;
  const shutdown = async (signal: string) => {
    if (stopping) {
      // A second signal while draining: stop waiting for the balancer.
      skipDelay?.();
      return;
    }
    stopping = true;
    // /ready turns 503 at once, but requests are still served for SHUTDOWN_DELAY_MS: a balancer
    // needs a few probe intervals to stop routing here, and would meanwhile hit a closed port.
    if (instance.ctx.has("readiness")) instance.ctx.use("readiness").drain();
    logger.info(
      { signal, delayMs: config.SHUTDOWN_DELAY_MS },
      "shutting down: /ready answers 503, still serving until the delay is over (signal again to skip it)",
    );
    await new Promise<void>((resolve) => {
      skipDelay = resolve;
      setTimeout(resolve, config.SHUTDOWN_DELAY_MS);
    });
    logger.info("closing: no new connections, closing plugins in reverse order");
    const timer = setTimeout(() => {
      logger.error("shutdown timed out");
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    server.stop(false);
    await instance.close();
    await server.stop(true);
    clearTimeout(timer);
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

/** One fatal line ("cannot start: <why>"; the stack only for an unknown cause), then exit 1. */
async function cannotStart(
  logger: Logger,
  err: unknown,
  instance: CachesyncApp | undefined,
  listen?: { host: string; port: number },
): Promise<never> {
  const known = startupFailure(err, listen);
  logger.fatal(known ? {} : { err }, `cannot start: ${known ?? String(err)}`);
  await instance?.close();
  process.exit(1);
}

await main();
