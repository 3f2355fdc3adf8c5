import { createRouter } from "../../../src/core/app";
import { type Plugin, PluginError } from "../../../src/core/plugin";
import { LISTINGS_COLLECTION } from "../../features/listings";
import { USER_COLLECTION } from "../../features/users";
import { DEFAULT_SENSITIVE_FIELDS } from "../sanitize/sanitize-user";
import {
  BOOKKEEPING_FIELD,
  DEFAULT_WRITE_BEHIND,
  type Declared,
  declare,
  refuseSensitive,
  type WriteBehindSpec,
} from "./declarations";
import { Flusher, type QueueStatus } from "./flusher";
import { writeBehindKeys } from "./keys";
import { lastSeenMiddleware } from "./last-seen";
import { listingViewHandler, listingViewRoute } from "./listing-view";
import { writeBehindMetrics } from "./metrics";
import { type Change, type ChangeOutcome, WriteBehindQueue } from "./queue";
import { overlayPresenter, writeBehindHooks } from "./read-hooks";

export type { WriteBehindSpec } from "./declarations";
export { DEFAULT_WRITE_BEHIND } from "./declarations";

/** What `/ready` shows: `degraded` once the oldest queued change is older than the bound. */
export interface WriteBehindReport extends QueueStatus {
  status: "ok" | "degraded";
}

export interface WriteBehindService {
  /** Queues a change of declared fields (see WriteBehindQueue for the paths it may take). */
  change(collection: string, id: string, change: Change): Promise<ChangeOutcome>;
  /** One flush round now; resolves with the entries flushed (0 when another instance holds the lease). */
  flush(): Promise<number>;
  /** Queue depth and lag, measured now. */
  report(): Promise<WriteBehindReport>;
  readonly declared: ReadonlyMap<string, Declared>;
}

declare module "../../../src/core/plugin" {
  interface Services {
    writeBehind: WriteBehindService;
  }
}

export interface WriteBehindOptions {
  /** Default DEFAULT_WRITE_BEHIND (`users.lastSeenAt`, `listings.viewCount`). */
  fields?: readonly WriteBehindSpec[];
  /**
   * Test only (refused unless NODE_ENV=test): flush without the exactly-once guard, so a test can
   * show that its check catches a retried batch counted twice.
   */
  unsafeWithoutIdempotency?: boolean;
  /** Test only, likewise: flushes leave `version` alone, so the cache entry cannot follow them. */
  unsafeWithoutVersionBump?: boolean;
}

/**
 * Write-behind for declared high-rate, non-money fields (SPEC §7, §8; docs/WRITE-BEHIND.md):
 * changes go to a Redis Stream and an overlay readers merge at once, and reach MongoDB in
 * coalesced `bulkWrite` batches, each exactly once. Money and sensitive fields are refused at
 * start-up (CS_ERR_WRITE_BEHIND_REFUSED).
 *
 * Load it after `events` and before `write-through`: its hooks then see cache hits, and strip
 * their bookkeeping after write-through cached the document with it.
 */
export function writeBehindPlugin(options: WriteBehindOptions = {}): Plugin {
  let queue: WriteBehindQueue | undefined;
  let flusher: Flusher | undefined;
  let declared: Map<string, Declared> | undefined;
  const need = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error("write-behind is not registered");
    return v;
  };
  return {
    name: "write-behind",
    dependencies: ["sanitize", "cache-sync"],
    register(ctx) {
      const unsafe = options.unsafeWithoutIdempotency || options.unsafeWithoutVersionBump;
      if (unsafe && ctx.config.NODE_ENV !== "test")
        throw new PluginError(
          "CS_ERR_TEST_ONLY",
          "unsafeWithout… options are test switches (NODE_ENV=test only)",
        );
      declared = declare(options.fields ?? DEFAULT_WRITE_BEHIND, [
        ...DEFAULT_SENSITIVE_FIELDS,
        ...ctx.config.SENSITIVE_FIELDS,
      ]);
      const keys = writeBehindKeys(ctx.config.CACHE_PREFIX);
      const metrics = ctx.metrics.group(writeBehindMetrics);
      queue = new WriteBehindQueue(ctx, declared, keys, metrics);
      flusher = new Flusher(ctx, declared, keys, metrics, {
        guard: !options.unsafeWithoutIdempotency,
        versionBump: !options.unsafeWithoutVersionBump,
      });
      const f = flusher;
      const q = queue;
      const d = declared;
      ctx.provide("writeBehind", {
        change: (collection, id, change) => q.change(collection, id, change),
        flush: () => f.flushNow(),
        async report() {
          const status = await f.measure().catch(() => f.status);
          const bound = ctx.config.WRITE_BEHIND_LAG_BOUND_SECONDS;
          return { ...status, status: status.lagSeconds > bound ? "degraded" : "ok" };
        },
        declared: d,
      });
    },
    hooks: (ctx) => writeBehindHooks(ctx, need(declared), writeBehindKeys(ctx.config.CACHE_PREFIX)),
    middleware: (ctx) =>
      need(declared).has(USER_COLLECTION) ? [lastSeenMiddleware(ctx, need(queue))] : [],
    routes(ctx) {
      const router = createRouter();
      if (need(declared).get(LISTINGS_COLLECTION)?.counters.includes("viewCount"))
        router.openapi(listingViewRoute, listingViewHandler(ctx, need(queue)));
      return router;
    },
    onReady(ctx) {
      // Declarations are all made at register time; reads by intent get the same merge.
      const keys = writeBehindKeys(ctx.config.CACHE_PREFIX);
      for (const spec of need(declared).values()) {
        const cached = ctx.use("cache").collection(spec.collection);
        // A collection's own sensitive fields are known once every plugin declared its collections.
        refuseSensitive(spec, cached?.declaration.sensitive ?? []);
        if (!cached) continue;
        const countless = spec.counters.length === 0;
        // "Latest" times live in the entry itself (the queue raises it), so a read of a
        // collection without counters is its entry alone; without counters the bookkeeping
        // serves no reader's arithmetic and stays out of the entry.
        if (spec.latest.length > 0)
          cached.carryFields(
            { fields: spec.latest, companionKey: (id) => keys.overlay(spec.collection, id) },
            countless ? [BOOKKEEPING_FIELD] : [],
          );
        cached.presentReadsWith({ ...overlayPresenter(spec, keys), inEntry: countless });
      }
      flusher?.start();
    },
    async onClose() {
      await flusher?.stop();
    },
  };
}
