import { collectDefaultMetrics, Registry } from "prom-client";

/**
 * Buckets for in-process and Redis latencies (50 µs … 1 s), shared so histograms of the cache
 * path stay comparable.
 */
export const LATENCY_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
];

/**
 * One registry per app instance (tests run several in one process); `/metrics` serves it.
 * Core defines no metric: each plugin declares its own in its `metrics.ts` as a factory and
 * takes them with `ctx.metrics.group(factory)`.
 */
export interface Metrics {
  readonly registry: Registry;
  /**
   * The metric set `define` makes, created on this registry at the first call and the same
   * object after (prom-client refuses a name registered twice). Keyed by the function itself,
   * so a module-level factory is one set per app; call it in `register()` so the series show
   * in `/metrics` before their first event.
   */
  group<T>(define: (registry: Registry) => T): T;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  const groups = new Map<(registry: Registry) => unknown, unknown>();
  return {
    registry,
    group<T>(define: (registry: Registry) => T): T {
      if (!groups.has(define)) groups.set(define, define(registry));
      return groups.get(define) as T;
    },
  };
}
