import type { OpenAPI3 } from "openapi-typescript";
import { defaultPlugins } from "../app/plugins";
import { createStores } from "../src/adapters";
import { createApp } from "../src/core/app";
import { makeConfig } from "../src/core/config";
import { createLogger } from "../src/core/logger";

/**
 * The `/openapi.json` the server answers, read through the app itself (embedded stores, no
 * network listener), so the linter and the client generator see exactly what clients get.
 */
export async function openapiDocument(): Promise<OpenAPI3> {
  const config = makeConfig({ LOG_LEVEL: "silent", CONSISTENCY_CHECK_INTERVAL_SECONDS: 0 });
  const stores = await createStores(config, createLogger(config.LOG_LEVEL));
  const instance = await createApp({ config, plugins: defaultPlugins(), stores });
  try {
    const res = await instance.app.request("/openapi.json");
    if (!res.ok) throw new Error(`/openapi.json answered ${res.status}`);
    return (await res.json()) as OpenAPI3;
  } finally {
    await instance.close();
  }
}

if (import.meta.main) {
  const out = process.argv[2];
  const text = `${JSON.stringify(await openapiDocument(), null, 2)}\n`;
  if (out) await Bun.write(out, text);
  else process.stdout.write(text);
}
