/**
 * Profiling server: the real app (same plugins, stores and app-wide middleware as app/server.ts)
 * plus bench-only routes that each add one piece of GET /users/me, so the HTTP section can say
 * what costs what. Env: as app/server.ts, plus BENCH_USER_ID and BENCH_KEY.
 */

import { defaultPlugins } from "../../app/plugins";
import { currentUser } from "../../plugins/features/auth";
import { createStores } from "../../src/adapters";
import { createApp } from "../../src/core/app";
import { loadConfig } from "../../src/core/config";
import { ok } from "../../src/core/errors";
import { createLogger } from "../../src/core/logger";
import { floorClient } from "../lib/floor-client";

const config = loadConfig();
const logger = createLogger(config.LOG_LEVEL);
const stores = await createStores(config, logger);
const instance = await createApp({
  config,
  plugins: defaultPlugins(),
  stores,
  logger,
  defaultMetrics: true,
});
await instance.ready();
const { app, ctx } = instance;
const userId = process.env.BENCH_USER_ID as string;
const key = process.env.BENCH_KEY as string;
const redis = floorClient(process.env, true);
const svc = ctx.use("cacheSync");
const auth = ctx.use("auth");

// Every route below runs behind the app-wide middleware (request id, logging, stale-read scope…).
app.get("/bench/bare", async (c) => c.json(ok(JSON.parse((await redis.get(key)) as string))));
app.get("/bench/hit", async (c) => c.json(ok(await svc.getUserWithSync(userId))));
app.get("/bench/auth", auth.requireUser, async (c) =>
  c.json(ok(JSON.parse((await redis.get(key)) as string))),
);
app.get("/bench/auth-hit", auth.requireUser, async (c) =>
  c.json(ok(await svc.getUserWithSync(currentUser(c).id))),
);

Bun.serve({ port: config.PORT, hostname: config.HOST, fetch: app.fetch, idleTimeout: 0 });
