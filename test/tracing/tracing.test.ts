/**
 * OpenTelemetry traces (docs/TRACING.md) through the standard SDK with an in-memory exporter:
 * HTTP → engine → Redis / MongoDB spans, the cache hit or miss on the engine's span; nothing at
 * all with OTEL_TRACES off.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { createUser, userKeyOf } from "../support/fixtures";
import { createTestStack, type TestStack } from "../support/stack";

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager().enable();

let traced: TestStack;
let plain: TestStack;

beforeAll(async () => {
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(provider);
  traced = await createTestStack({ env: { OTEL_TRACES: true } });
  plain = await createTestStack({ stores: "memory" });
});
afterAll(async () => {
  await traced?.close();
  await plain?.close();
  trace.disable();
  context.disable();
});

const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
const childrenOf = (spans: ReadableSpan[], parent: ReadableSpan) =>
  spans.filter((s) => parentOf(s) === parent.spanContext().spanId);

describe("OpenTelemetry traces", () => {
  test("GET /users/me: an HTTP span, the engine's read (hit) and its Redis call beneath it", async () => {
    const user = await createUser(traced);
    await traced.ctx.use("cacheSync").getUserWithSync(user.id);
    exporter.reset();
    const res = await traced.call("GET", "/api/v1/users/me", { token: user.token });
    expect(res.status).toBe(200);
    const spans = exporter.getFinishedSpans();
    const http = spans.find((s) => s.name === "GET /api/v1/users/me");
    expect(http?.attributes["http.response.status_code"]).toBe(200);
    const reads = spans.filter(
      (s) =>
        s.name === "cache.users.get" && s.spanContext().traceId === http?.spanContext().traceId,
    );
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every((r) => r.attributes["cachesync.cache.hit"] === true)).toBe(true);
    const redis = childrenOf(spans, reads[0] as ReadableSpan);
    expect(redis.map((s) => s.name)).toContain("redis get");
    expect(redis[0]?.attributes["db.system.name"]).toBe("redis");
  });

  test("a miss: cachesync.cache.hit false, and the MongoDB read inside the engine's span", async () => {
    const user = await createUser(traced);
    await traced.ctx.stores.cache.del([userKeyOf(traced, user.id)]);
    exporter.reset();
    await traced.ctx.use("cache").users.get(user.id);
    const spans = exporter.getFinishedSpans();
    const read = spans.find((s) => s.name === "cache.users.get") as ReadableSpan;
    expect(read.attributes["cachesync.cache.hit"]).toBe(false);
    const inside = spans.filter((s) => s.spanContext().traceId === read.spanContext().traceId);
    const mongo = inside.find((s) => s.name === "mongodb findOne users");
    expect(mongo?.attributes["db.system.name"]).toBe("mongodb");
  });

  test("off by default: no span", async () => {
    exporter.reset();
    const user = await createUser(plain);
    await plain.call("GET", "/api/v1/users/me", { token: user.token });
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
