import type { Plugin } from "../../../src/core/plugin";
import { httpSpans } from "./http";
import { instrumentEngine, instrumentRedis, mongoSpans } from "./instrument";

/**
 * OpenTelemetry traces (docs/TRACING.md), off by default (`OTEL_TRACES=true`): HTTP → engine →
 * Redis / MongoDB spans through the standard OTel API, with the cache hit or miss on each engine
 * read. The host registers the SDK and its exporter; cachesync only creates spans.
 */
export function tracingPlugin(): Plugin {
  return {
    name: "tracing",
    dependencies: ["cache-sync"],
    middleware: (ctx) => (ctx.config.OTEL_TRACES ? [httpSpans()] : []),
    // Read once every plugin registered (every collection declared); listed last in
    // app/plugins.ts, so its MongoDB spans are the innermost hooks, right around the store.
    hooks(ctx) {
      if (!ctx.config.OTEL_TRACES) return [];
      instrumentEngine(ctx);
      instrumentRedis(ctx.stores.cache);
      return mongoSpans();
    },
  };
}
