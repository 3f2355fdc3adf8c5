import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import { anyone, jsonResponse } from "./api-route";
import type { AppEnv } from "./app-env";
import type { Config } from "./config";
import { createCounters } from "./counters";
import { AppError, codeForStatus, errorEnvelope, StoreUnavailableError } from "./errors";
import { createHealth } from "./health";
import { HookPipeline, type RegisteredHook } from "./hooks";
import { createLocks } from "./locks";
import { createLogger, type Logger } from "./logger";
import { createMetrics } from "./metrics";
import { OPENAPI_INFO } from "./openapi-info";
import {
  type Plugin,
  type PluginContext,
  PluginError,
  type Services,
  validateHook,
  validatePlugins,
} from "./plugin";
import type { CacheStore } from "./ports/cache-store";
import type { DocumentStore } from "./ports/document-store";
import type { EventBus } from "./ports/event-bus";
import { Repository } from "./repository";
import { defaultHook } from "./validation";

export interface Stores {
  db: DocumentStore;
  cache: CacheStore;
  bus: EventBus;
}

export interface CreateAppOptions {
  config: Config;
  plugins: readonly Plugin[];
  stores: Stores;
  logger?: Logger;
  /** Process-level metrics (GC, RSS): on for the real server only, they are global. */
  defaultMetrics?: boolean;
}

export interface CachesyncApp {
  app: OpenAPIHono<AppEnv>;
  ctx: PluginContext;
  /** Runs every plugin's onReady in load order. */
  ready(): Promise<void>;
  /** onClose in reverse load order, then the stores. Safe to call twice. */
  close(): Promise<void>;
}

/** Liveness only: the process is up. Store reachability is `/ready` (ops plugin). */
const healthRoute = createRoute({
  ...anyone,
  method: "get",
  path: "/health",
  tags: ["Operations"],
  operationId: "getHealth",
  summary: "Liveness: the process is up",
  description: "Always 200 while the process serves requests; store reachability is `GET /ready`.",
  responses: {
    200: jsonResponse(
      z.object({
        success: z.literal(true),
        data: z.object({ status: z.literal("ok"), uptime: z.number() }),
      }),
      "The process is up",
    ),
  },
});

/** Creates a router with the project's one validation hook; every plugin uses this. */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({ defaultHook });
}

/**
 * The thin core: validates plugins, builds the hooked repository, registers plugins, mounts
 * their routes. It imports no plugin.
 */
export async function createApp(options: CreateAppOptions): Promise<CachesyncApp> {
  const { config, plugins, stores } = options;
  validatePlugins(plugins);
  const logger = options.logger ?? createLogger(config.LOG_LEVEL);

  const hooks: RegisteredHook[] = [];
  const pipeline = new HookPipeline(hooks);
  const repo = new Repository(stores.db, pipeline);
  const services = new Map<keyof Services, unknown>();

  const ctx: PluginContext = {
    config,
    logger,
    metrics: createMetrics({ defaultMetrics: options.defaultMetrics ?? false }),
    locks: createLocks(stores.cache, config.CACHE_PREFIX),
    counters: createCounters(stores.cache, config.CACHE_PREFIX),
    health: createHealth(stores.db, stores.cache),
    ensureIndexes: (specs) => stores.db.ensureIndexes(specs),
    stores: { db: stores.db, cache: stores.cache },
    bus: stores.bus,
    repo,
    provide(name, service) {
      if (services.has(name))
        throw new PluginError(
          "CS_ERR_SERVICE_DUPLICATE",
          `Service "${String(name)}" provided twice`,
        );
      services.set(name, service);
    },
    use(name) {
      if (!services.has(name))
        throw new PluginError(
          "CS_ERR_SERVICE_MISSING",
          `Service "${String(name)}" is not provided by any loaded plugin`,
        );
      return services.get(name) as Services[typeof name];
    },
    has: (name) => services.has(name),
  };

  for (const p of plugins) await p.register?.(ctx);
  // Hooks are read after every register() so plugins may build them from their state.
  for (const p of plugins) {
    const list = typeof p.hooks === "function" ? p.hooks(ctx) : (p.hooks ?? []);
    for (const h of list) {
      validateHook(p.name, h);
      hooks.push({ ...h, plugin: p.name } as RegisteredHook);
    }
  }
  pipeline.seal();

  const app = createRouter();
  // crypto.randomUUID per request showed as ~8 % of a cached profile read: a per-process random
  // prefix plus a counter is as unique and far cheaper. An incoming X-Request-Id is still kept.
  const idPrefix = crypto.randomUUID().slice(0, 8);
  let idSeq = 0;
  app.use(requestId({ generator: () => `${idPrefix}-${(++idSeq).toString(36)}` }));
  app.use(async (c, next) => {
    c.set("ctx", ctx);
    const started = performance.now();
    await next();
    const ms = performance.now() - started;
    if (logger.isLevelEnabled("debug") || c.res.status >= 500) {
      logger[c.res.status >= 500 ? "error" : "debug"](
        {
          reqId: c.get("requestId"),
          method: c.req.method,
          path: c.req.path,
          status: c.res.status,
          ms: Math.round(ms * 10) / 10,
        },
        "request",
      );
    }
  });

  app.onError((err, c) => {
    if (err instanceof AppError) {
      // A store outage answers every request with 503: one warn line each, not an error storm.
      if (err instanceof StoreUnavailableError)
        logger.warn({ store: err.store, reqId: c.get("requestId") }, err.message);
      else if (err.status >= 500) logger.error({ err, reqId: c.get("requestId") }, err.message);
      return c.json(err.toEnvelope(), err.status, err.headers);
    }
    if (err instanceof HTTPException) {
      const status = err.status;
      // Hono's auth middleware (bearerAuth on /metrics) puts its challenge on the response it built.
      const challenge = err.res?.headers.get("www-authenticate");
      return c.json(
        errorEnvelope(codeForStatus(status), err.message || undefined),
        status,
        challenge ? { "www-authenticate": challenge } : undefined,
      );
    }
    if (err instanceof SyntaxError) {
      return c.json(errorEnvelope("INVALID_JSON"), 400);
    }
    logger.error({ err, reqId: c.get("requestId") }, "unhandled error");
    return c.json(errorEnvelope("INTERNAL"), 500);
  });
  app.notFound((c) =>
    c.json(errorEnvelope("NOT_FOUND", `No route for ${c.req.method} ${c.req.path}`), 404),
  );

  for (const p of plugins) for (const mw of p.middleware?.(ctx) ?? []) app.use(mw);

  app.openapi(healthRoute, (c) =>
    c.json(
      { success: true as const, data: { status: "ok" as const, uptime: process.uptime() } },
      200,
    ),
  );

  for (const p of plugins) {
    if (p.routes) app.route(p.basePath ?? "/api/v1", p.routes(ctx));
  }

  // Every plugin route is declared with createRoute, so the merged registry is the whole API.
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
  });
  app.doc31("/openapi.json", OPENAPI_INFO);

  let closed: Promise<void> | undefined;
  return {
    app,
    ctx,
    async ready() {
      for (const p of plugins) await p.onReady?.(ctx);
    },
    close() {
      closed ??= (async () => {
        for (const p of [...plugins].reverse()) {
          try {
            await p.onClose?.(ctx);
          } catch (err) {
            logger.warn({ err, plugin: p.name }, "onClose failed");
          }
        }
        await Promise.allSettled([stores.bus.close(), stores.cache.close(), stores.db.close()]);
      })();
      return closed;
    },
  };
}
