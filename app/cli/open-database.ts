import { createStores } from "../../src/adapters";
import { topologyFromSettings } from "../../src/adapters/redis/topology";
import { loadConfigOrExit } from "../../src/core/config";
import { createLogger } from "../../src/core/logger";

/**
 * Configuration and stores for an operator command, from the same environment as `bun start`.
 * Exits 1 with one line when the configuration is bad or names no MongoDB: on the embedded
 * store there is no existing database to look at.
 *
 * A command that writes users (`writesCache`) also exits, with 2, when no Redis is configured:
 * it would write through to an in-process cache that dies with it, while the deployment's Redis
 * kept serving the entries from before. `noCache` is the operator saying the deployment really
 * runs without Redis.
 */
export async function openForCli(
  command: string,
  opts: { writesCache?: boolean; noCache?: boolean } = {},
) {
  const config = loadConfigOrExit();
  if (!config.MONGO_URL) {
    console.error(
      `${command}: MONGO_URL is not set — the embedded store starts empty, there is nothing to ${command === "doctor" ? "check" : "migrate"}.`,
    );
    process.exit(1);
  }
  if (opts.writesCache && !opts.noCache && !topologyFromSettings(config)) {
    console.error(
      `${command}: REDIS_URL is not set (nor REDIS_CLUSTER_NODES / REDIS_SENTINELS) — the deployment's Redis would keep the entries from before the ${command}; set it as for \`bun start\`, or pass --no-cache if the deployment runs without Redis.`,
    );
    process.exit(2);
  }
  const logger = createLogger(config.LOG_LEVEL === "info" ? "warn" : config.LOG_LEVEL);
  const stores = await createStores(config, logger);
  return { config, stores, logger };
}
