import pino from "pino";
import { defaultPlugins } from "../../app/plugins";
import { createStores } from "../../src/adapters";
import { type CachesyncApp, createApp } from "../../src/core/app";
import { makeConfig } from "../../src/core/config";
import type { Plugin } from "../../src/core/plugin";

export interface LoggedApp extends CachesyncApp {
  /** Every log line so far, parsed. */
  logs: { level: number; msg: string; [k: string]: unknown }[];
}

/** An app on the embedded stores whose log lines the test can read (the stack's are silent). */
export async function appWithLogs(
  env: Record<string, string | number>,
  plugins: Plugin[] = defaultPlugins(),
): Promise<LoggedApp> {
  const logs: LoggedApp["logs"] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => logs.push(JSON.parse(line)) });
  const config = makeConfig({ NODE_ENV: "test", CONSISTENCY_CHECK_INTERVAL_SECONDS: 0, ...env });
  const stores = await createStores(config, logger);
  const app = await createApp({ config, plugins, stores, logger });
  return Object.assign(app, { logs });
}
