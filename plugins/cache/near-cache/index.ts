import type { Plugin } from "../../../src/core/plugin";
import type { Doc } from "../../../src/core/ports/document-store";
import { USER_COLLECTION } from "../../features/users";
import type { CachedDoc } from "../cache-sync/collection";
import { NearFeed } from "./feed";
import { defineNearMetrics } from "./metrics";
import { NearStore } from "./store";

/** A declaration's `nearCache` object form; each field falls back to the NEAR_CACHE_* default. */
export interface NearCacheOptions {
  maxEntries?: number;
  maxBytes?: number;
  ttlMs?: number;
}

const DELETED = Number.MAX_SAFE_INTEGER;

/**
 * The near cache (docs/NEAR-CACHE.md): an in-process LRU in front of Redis for the collections
 * that ask for it (`nearCache` in the declaration, or `NEAR_CACHE=users,listings`), fed by a
 * change feed every instance writes before a write answers. Off by default. Balance-holding
 * documents (users) are served from it only to reads that carry a version token.
 */
export function nearCachePlugin(): Plugin {
  let feed: NearFeed | undefined;
  const stores = new Map<string, NearStore<CachedDoc>>();
  return {
    name: "near-cache",
    dependencies: ["cache-sync"],
    // Hooks are read once every plugin registered: every collection is declared by then.
    hooks(ctx) {
      const { config } = ctx;
      const wanted = ctx
        .use("cache")
        .all()
        .filter((c) => c.declaration.nearCache || config.NEAR_CACHE.includes(c.name));
      for (const name of config.NEAR_CACHE)
        if (!ctx.use("cache").has(name))
          ctx.logger.warn(
            { collection: name },
            "NEAR_CACHE names a collection that is not declared",
          );
      // Off (the default): no feed, no metrics, the engine's reads unchanged.
      if (wanted.length === 0) return [];
      const metrics = ctx.metrics.group(defineNearMetrics);
      const f = new NearFeed(
        ctx,
        stores,
        {
          heartbeatMs: config.NEAR_CACHE_HEARTBEAT_MS,
          timeoutMs: config.NEAR_CACHE_FEED_TIMEOUT_MS,
        },
        metrics,
      );
      feed = f;
      const versionField = new Map<string, string>();
      for (const cache of wanted) {
        const decl = cache.declaration;
        const own = (typeof decl.nearCache === "object" ? decl.nearCache : {}) as NearCacheOptions;
        const labels = { collection: decl.name };
        const store = new NearStore<CachedDoc>({
          maxEntries: own.maxEntries ?? config.NEAR_CACHE_MAX_ENTRIES,
          maxBytes: own.maxBytes ?? config.NEAR_CACHE_MAX_BYTES,
          ttlMs: own.ttlMs ?? config.NEAR_CACHE_TTL_MS,
          requireToken: decl.name === USER_COLLECTION,
          healthy: f.healthy,
          announceInPlace: (id) => f.publish(decl.name, [{ id, v: 0, p: 1 }]),
          counters: {
            hit: () => metrics.hits.inc(labels),
            miss: () => metrics.misses.inc(labels),
            bypass: () => metrics.bypassed.inc(labels),
          },
        });
        stores.set(decl.name, store);
        versionField.set(decl.name, decl.versionField);
        cache.engine.near = store;
        if (decl.name === USER_COLLECTION && ctx.has("observatory"))
          ctx
            .use("observatory")
            .addLayer({ name: "near", version: async (id) => store.versionOf(id) });
      }
      const changes = (docs: readonly Doc[], field: string, deleted: boolean) =>
        docs.map((d) => ({ id: String(d._id), v: deleted ? DELETED : Number(d[field]) }));
      return [
        {
          // Before the write answers, like its event: a reader elsewhere that starts after the
          // acknowledgement finds the entry already dropped (within the feed's delivery time).
          phase: "afterWrite",
          collection: [...stores.keys()],
          run: (change) => {
            const field = versionField.get(change.collection) ?? "version";
            return f.publish(change.collection, [
              ...changes(change.after, field, false),
              ...changes(change.removed, field, true),
            ]);
          },
        },
      ];
    },
    onReady() {
      if (stores.size > 0) feed?.start();
    },
    async onClose() {
      await feed?.stop();
    },
  };
}
