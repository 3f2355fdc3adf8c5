import type { Hono, MiddlewareHandler, Schema } from "hono";
import type { AppEnv } from "./app-env";
import type { Config } from "./config";
import type { Counters } from "./counters";
import { AppError, type SetupErrorCode } from "./errors";
import type { Health } from "./health";
import { type HookSpec, hookProblem } from "./hooks";
import type { Locks } from "./locks";
import type { Logger } from "./logger";
import type { Metrics } from "./metrics";
import type { CacheStore } from "./ports/cache-store";
import { type DocumentStore, type IndexSpec, READ_OPS, WRITE_OPS } from "./ports/document-store";
import type { EventBus } from "./ports/event-bus";
import type { Repository } from "./repository";

/**
 * Services plugins provide to each other, typed by declaration merging:
 *   declare module "../../src/core/plugin" { interface Services { cacheSync: CacheSyncService } }
 */
// biome-ignore lint: intentionally empty, filled by plugins
export interface Services {}

/** The raw stores behind `ctx.stores` (see PluginContext). */
export interface InternalStores {
  readonly db: DocumentStore;
  readonly cache: CacheStore;
}

export interface PluginContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Cross-instance locks and single-use claims (the one lock implementation). */
  readonly locks: Locks;
  /** Deployment-wide counters (rate limits). */
  readonly counters: Counters;
  /** Store reachability (readiness, stats). */
  readonly health: Health;
  /** Creates the unique and lookup indexes a plugin's queries rely on (idempotent). */
  ensureIndexes(specs: readonly IndexSpec[]): Promise<void>;
  readonly bus: EventBus;
  /** The hooked repository every service should use (`{ hooks: false }` for explicit bypasses). */
  readonly repo: Repository;
  /**
   * Privileged: the raw stores, for the sync layer (the cache engine and the cache layers, the
   * change stream) and operator commands (adoption). Feature plugins get the services above;
   * test/architecture lists the plugins that may touch this.
   */
  readonly stores: InternalStores;
  provide<K extends keyof Services>(name: K, service: Services[K]): void;
  /** The service, or a CS_ERR_SERVICE_MISSING error naming it. */
  use<K extends keyof Services>(name: K): Services[K];
  has(name: keyof Services): boolean;
}

/**
 * A plugin (fastify-plugin-style metadata, checked at load):
 * - `dependencies` must be loaded earlier in the list (the order is also the hook order,
 *   outermost first);
 * - `register` runs once in load order, before any hook is read;
 * - `routes()` returns a sub-router mounted at `basePath` (default `/api/v1`);
 * - `onReady` runs in load order once every plugin is registered, `onClose` in reverse.
 */
export interface Plugin {
  readonly name: string;
  readonly dependencies?: readonly string[];
  register?(ctx: PluginContext): void | Promise<void>;
  /**
   * Hooks around repository calls, each naming its phase (`read`, `beforeWrite`, `write`,
   * `afterWrite`, `announce`, `result`: src/core/hooks.ts) and what it targets.
   */
  hooks?: readonly HookSpec[] | ((ctx: PluginContext) => readonly HookSpec[]);
  /**
   * An OpenAPIHono router (from `createRouter()`) puts its `createRoute` routes in `/openapi.json`;
   * plain `.get()`/`.post()` routes on it work too and stay out of the document. Chained calls
   * change the router's schema type parameter, which is why any Hono schema is accepted here.
   */
  routes?(ctx: PluginContext): Hono<AppEnv, Schema, string>;
  readonly basePath?: string;
  /** App-wide middleware, mounted before every route in load order (e.g. a stale-read header). */
  middleware?(ctx: PluginContext): MiddlewareHandler<AppEnv>[];
  onReady?(ctx: PluginContext): void | Promise<void>;
  onClose?(ctx: PluginContext): void | Promise<void>;
}

export class PluginError extends AppError {
  constructor(code: SetupErrorCode, message: string) {
    super(code, 500, message);
    this.name = "PluginError";
  }
}

const NAME = /^[a-z][a-z0-9-]*$/;

/**
 * Checks one hook when it is registered (a known phase, a function, ops that phase sees);
 * throws CS_ERR_PLUGIN_HOOK naming the plugin.
 */
export function validateHook(plugin: string, h: HookSpec): void {
  const problem = hookProblem(h, READ_OPS, WRITE_OPS);
  if (problem) throw new PluginError("CS_ERR_PLUGIN_HOOK", `Plugin "${plugin}" ${problem}`);
}

/** Validates the list; throws coded errors (CS_ERR_PLUGIN_*) naming the offending plugin. */
export function validatePlugins(plugins: readonly Plugin[]): void {
  const seen = new Set<string>();
  for (const p of plugins) {
    if (!p || typeof p !== "object" || typeof p.name !== "string" || !NAME.test(p.name)) {
      throw new PluginError("CS_ERR_PLUGIN_INVALID", `Invalid plugin name: ${String(p?.name)}`);
    }
    if (seen.has(p.name))
      throw new PluginError("CS_ERR_PLUGIN_DUPLICATE", `Plugin "${p.name}" is loaded twice`);
    for (const dep of p.dependencies ?? []) {
      if (!seen.has(dep)) {
        const later = plugins.some((q) => q.name === dep);
        throw new PluginError(
          "CS_ERR_PLUGIN_DEPENDENCY",
          later
            ? `Plugin "${p.name}" depends on "${dep}", which must be loaded before it`
            : `Plugin "${p.name}" depends on "${dep}", which is not loaded`,
        );
      }
    }
    for (const h of Array.isArray(p.hooks) ? p.hooks : []) validateHook(p.name, h);
    seen.add(p.name);
  }
}
