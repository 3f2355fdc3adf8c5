import { trace } from "@opentelemetry/api";
import type { HookSpec } from "../../../src/core/hooks";
import type { PluginContext } from "../../../src/core/plugin";
import type { CacheStore } from "../../../src/core/ports/cache-store";
import { belowFloor } from "../../cache/cache-sync/read-floor";
import { inSpan, SpanKind } from "./tracer";

const HIT = "cachesync.cache.hit";

/**
 * Engine spans: each cached collection's reads by intent (`cache.<name>.get/getBy/getMany`),
 * marked `cachesync.cache.hit` from what Redis answered. Wrapped on the instances, so nothing
 * changes when tracing is off.
 */
export function instrumentEngine(ctx: PluginContext): void {
  for (const cache of ctx.use("cache").all()) {
    const collection = cache.name;
    const attrs = { "cachesync.collection": collection };
    const get = cache.get.bind(cache);
    const getBy = cache.getBy.bind(cache);
    const getMany = cache.getMany.bind(cache);
    const getStored = cache.getStored.bind(cache);
    cache.get = (id) => inSpan(`cache.${collection}.get`, SpanKind.INTERNAL, attrs, () => get(id));
    // The session check's read (no presenter): the same engine read, the same span.
    cache.getStored = (id) =>
      inSpan(`cache.${collection}.get`, SpanKind.INTERNAL, attrs, () => getStored(id));
    cache.getBy = (field, value) =>
      inSpan(
        `cache.${collection}.getBy`,
        SpanKind.INTERNAL,
        { ...attrs, "cachesync.field": field },
        () => getBy(field, value),
      );
    cache.getMany = (ids) =>
      inSpan(
        `cache.${collection}.getMany`,
        SpanKind.INTERNAL,
        { ...attrs, "cachesync.ids": ids.length },
        () => getMany(ids),
      );
    // What Redis answered, on the read's span: a hit unless nothing (or an entry older than the
    // request's version token) came back.
    const engine = cache.engine;
    const getCached = engine.getCached.bind(engine);
    engine.getCached = (id) => {
      const span = trace.getActiveSpan();
      return getCached(id).then((entry) => {
        span?.setAttribute(HIT, entry !== null && !belowFloor(entry));
        return entry;
      });
    };
    // The hit path's form of it (the caller's step in the store's promise step).
    const readCached = engine.readCached.bind(engine);
    engine.readCached = (id, then) => {
      const span = trace.getActiveSpan();
      return readCached(id, (entry) => {
        span?.setAttribute(HIT, entry !== null && !belowFloor(entry));
        return then(entry);
      });
    };
    // The same read with a presenter's companion key (one MGET).
    const getCachedWith = engine.getCachedWith.bind(engine);
    engine.getCachedWith = (id, companion) => {
      const span = trace.getActiveSpan();
      return getCachedWith(id, companion).then((read) => {
        span?.setAttribute(HIT, read[0] !== null && !belowFloor(read[0]));
        return read;
      });
    };
  }
}

/** Port methods and the Redis command each one sends (`getThen`: the hit path's `get`). */
const REDIS_OPS = [
  ["get", "get"],
  ["getThen", "get"],
  ["mget", "mget"],
  ["setIfNewer", "setIfNewer"],
  ["acquireFillLease", "acquireFillLease"],
  ["invalidateVersioned", "invalidateVersioned"],
  ["set", "set"],
  ["del", "del"],
] as const;

/** A CLIENT span per Redis command the engine issues through the cache port. */
export function instrumentRedis(cache: CacheStore): void {
  for (const [method, op] of REDIS_OPS) {
    const original = (cache[method] as (...a: unknown[]) => Promise<unknown>).bind(cache);
    (cache as unknown as Record<string, unknown>)[method] = (...args: unknown[]) =>
      inSpan(
        `redis ${op}`,
        SpanKind.CLIENT,
        { "db.system.name": "redis", "db.operation.name": op },
        () => original(...args),
      );
  }
}

/** A CLIENT span around every MongoDB call of the hooked repository (reads and writes). */
export function mongoSpans(): HookSpec[] {
  const around = (phase: "read" | "write"): HookSpec => ({
    phase,
    run: (call, next) =>
      inSpan(
        `mongodb ${call.op} ${call.collection}`,
        SpanKind.CLIENT,
        {
          "db.system.name": "mongodb",
          "db.operation.name": call.op,
          "db.collection.name": call.collection,
        },
        () => next(),
      ),
  });
  return [around("read"), around("write")];
}
