import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createUser, userKeyOf } from "../support/fixtures";
import { createTestStack, type TestStack } from "../support/stack";

describe("GET /metrics, /openapi.json and /docs", () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await createTestStack();
  });
  afterAll(() => stack?.close());

  test("/metrics is Prometheus text with the cache counters moving", async () => {
    const user = await createUser(stack);
    await stack.ctx.stores.cache.del([userKeyOf(stack, user.id)]);
    const cacheSync = stack.ctx.use("cacheSync");
    await cacheSync.getUserWithSync(user.id);
    await cacheSync.getUserWithSync(user.id);

    const res = await stack.call("GET", "/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(stack.ctx.metrics.registry.contentType);
    const text = await res.text();
    // Labelled by cached collection (SPEC §8): the users series.
    const value = (name: string) =>
      Number(new RegExp(`^${name}\\{collection="users"\\} (\\S+)$`, "m").exec(text)?.[1]);
    expect(value("cachesync_cache_hits_total")).toBeGreaterThanOrEqual(1);
    expect(value("cachesync_cache_misses_total")).toBeGreaterThanOrEqual(1);
    for (const series of [
      "cachesync_fill_seconds_bucket",
      "cachesync_sse_clients",
      "cachesync_events_delivered_total",
      "cachesync_redis_breaker_state",
    ]) {
      expect(text).toContain(series);
    }
  });

  test("each plugin registers its own series; names, types and labels are the published ones", async () => {
    // Plugins define their metrics (core names none); this pins what dashboards rely on. The
    // cache series are labelled by cached collection (SPEC §8).
    const expected: Record<string, [type: string, labels: string[]]> = {
      cachesync_cache_fills_total: ["counter", ["collection", "outcome"]],
      cachesync_cache_hits_total: ["counter", ["collection"]],
      cachesync_cache_misses_total: ["counter", ["collection"]],
      cachesync_consistency_checked_total: ["counter", ["collection", "result"]],
      cachesync_events_delivered_total: ["counter", []],
      cachesync_events_published_total: ["counter", []],
      cachesync_fill_seconds: ["histogram", []],
      cachesync_invalidations_total: ["counter", ["collection"]],
      cachesync_list_cache_hits_total: ["counter", ["collection"]],
      cachesync_list_cache_misses_total: ["counter", ["collection"]],
      cachesync_observatory_checks_total: ["counter", ["bound", "outcome"]],
      cachesync_observatory_consistent_share: ["gauge", ["bound"]],
      cachesync_observatory_dropped_total: ["counter", []],
      cachesync_observatory_samples_total: ["counter", []],
      cachesync_observatory_stale_total: ["counter", ["bound", "layer"]],
      cachesync_observatory_staleness_seconds: ["histogram", []],
      cachesync_observatory_unresolved_total: ["counter", []],
      cachesync_password_jobs: ["gauge", ["kind", "state"]],
      cachesync_redis_breaker_state: ["gauge", []],
      cachesync_redis_errors_total: ["counter", []],
      cachesync_repairs_total: ["counter", ["source"]],
      cachesync_sse_clients: ["gauge", []],
      cachesync_write_behind_batch_documents: ["histogram", []],
      cachesync_write_behind_batch_entries: ["histogram", []],
      cachesync_write_behind_changes_total: ["counter", ["collection", "path"]],
      cachesync_write_behind_flush_failures_total: ["counter", []],
      cachesync_write_behind_flush_seconds: ["histogram", []],
      cachesync_write_behind_lag_seconds: ["gauge", []],
      cachesync_write_behind_mongo_writes_total: ["counter", ["kind"]],
      cachesync_write_behind_queue_depth: ["gauge", []],
      cachesync_write_through_seconds: ["histogram", []],
      cachesync_write_throughs_total: ["counter", ["collection", "outcome"]],
    };
    const { registry } = stack.ctx.metrics;
    const actual = Object.fromEntries(
      (await registry.getMetricsAsJSON())
        .filter((m) => m.name.startsWith("cachesync_"))
        .map((m) => {
          const metric = registry.getSingleMetric(m.name) as unknown as { labelNames?: string[] };
          return [m.name, [String(m.type), [...(metric.labelNames ?? [])]]];
        }),
    );
    // New series may be added; these must not change.
    expect(actual).toMatchObject(expected);
  });

  test("/openapi.json documents every plugin's routes with the bearer scheme", async () => {
    const res = await stack.call("GET", "/openapi.json");
    expect(res.status).toBe(200);
    const doc = await res.json();
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({
      type: "http",
      scheme: "bearer",
    });
    const paths = Object.keys(doc.paths);
    for (const p of [
      "/api/v1/auth/login",
      "/api/v1/users/me",
      "/api/v1/cache/stats",
      "/api/v1/cache/validate/{userId}",
      "/api/v1/cache/sync/{userId}",
      "/api/v1/cache/invalidate/{userId}",
      "/api/v1/cache/bulk-sync",
      "/api/v1/events",
      "/ready",
      "/metrics",
    ]) {
      expect(paths).toContain(p);
    }
    expect(doc.paths["/api/v1/cache/stats"].get.security).toEqual([{ bearerAuth: [] }]);
    expect(Object.keys(doc.paths["/api/v1/cache/sync/{userId}"].post.responses)).toEqual(
      expect.arrayContaining(["200", "400", "401", "403", "404"]),
    );
  });

  test("/docs serves the interactive reference pointing at /openapi.json", async () => {
    const res = await stack.call("GET", "/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();
    expect(html).toContain("/openapi.json");
  });
});
