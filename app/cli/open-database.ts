import { createStores } from "../../src/adapters";
import { loadConfigOrExit } from "../../src/core/config";
import { createLogger } from "../../src/core/logger";

/**
 * Configuration and stores for an operator command, from the same environment as `bun start`.
 * Exits 1 with one line when the configuration is bad or names no MongoDB: on the embedded
 * store there is no existing database to look at.
 */
export async function openForCli(command: string) {
  const config = loadConfigOrExit();
  if (!config.MONGO_URL) {
    console.error(
      `${command}: MONGO_URL is not set — the embedded store starts empty, there is nothing to ${command === "doctor" ? "check" : "migrate"}.`,
    );
    process.exit(1);
  }
  const logger = createLogger(config.LOG_LEVEL === "info" ? "warn" : config.LOG_LEVEL);
  const stores = await createStores(config, logger);
  return { config, stores, logger };
}
