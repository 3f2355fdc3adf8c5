import { AsyncLocalStorage } from "node:async_hooks";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../../../src/core/app-env";

/**
 * Request-scoped flag: set deep in the cache-aside hook when it served a cached user while
 * MongoDB is known to be down, read by the middleware to mark the response (SPEC §2).
 */
const scope = new AsyncLocalStorage<{ stale: boolean }>();

export function markStale(): void {
  const s = scope.getStore();
  if (s) s.stale = true;
}

export const STALE_HEADER = "X-Cache-Stale";

export function staleHeaderMiddleware(): MiddlewareHandler<AppEnv> {
  return async function staleHeader(c, next) {
    const s = { stale: false };
    await scope.run(s, next);
    if (s.stale) c.header(STALE_HEADER, "1");
  };
}
