import { ObjectId } from "bson";
import { StoreUnavailableError } from "../../../src/core/errors";
import type { PluginContext } from "../../../src/core/plugin";
import type { Doc } from "../../../src/core/ports/document-store";
import { refreshCached } from "./cache-refresh";
import { encodeChange } from "./coalesce";
import type { Declared } from "./declarations";
import { OVERLAY_TTL_SECONDS, type WriteBehindKeys } from "./keys";
import type { WriteBehindMetrics } from "./metrics";
import { directUpdate } from "./statement";

export interface Change {
  /** Counter amounts (integers). */
  add?: Record<string, number>;
  /** "Latest" fields: a time (Date or epoch ms). */
  latest?: Record<string, Date | number>;
}

export type ChangePath = "queued" | "direct" | "dropped";

export interface ChangeOutcome {
  path: ChangePath;
  /** The document's overlay after a queued change (null otherwise, or when it could not be read). */
  overlay: Record<string, string> | null;
}

/**
 * Takes a change and makes it durable: appended to the queue stream (XADD, refused rather than
 * trimmed when full), then added to the document's overlay so readers see it at once.
 *
 * The order matters. Appended first, the change is durable before anyone can see it; a crash
 * between the two calls leaves it in MongoDB-to-be but not in the overlay, so readers show it one
 * flush late — never a change that MongoDB will not get. The other order could show a change
 * forever that was never queued.
 *
 * When Redis cannot take it: if the client knows the command was never sent (not connected; the
 * offline queue is off) or the queue is full, the change is written to MongoDB directly (or
 * dropped and counted, per WRITE_BEHIND_REDIS_DOWN). If Redis failed while the command was in
 * flight, nobody can tell whether it was appended: writing it directly too could count it twice,
 * so the caller gets StoreUnavailableError (503) and the change counts at most once.
 */
export class WriteBehindQueue {
  constructor(
    private readonly ctx: PluginContext,
    private readonly declared: ReadonlyMap<string, Declared>,
    private readonly keys: WriteBehindKeys,
    private readonly metrics: WriteBehindMetrics,
  ) {}

  async change(collection: string, id: string, change: Change): Promise<ChangeOutcome> {
    const spec = this.declared.get(collection);
    if (!spec) throw new Error(`write-behind: ${collection} is not declared`);
    const add: Record<string, number> = {};
    for (const [f, n] of Object.entries(change.add ?? {})) {
      if (!spec.counters.includes(f))
        throw new Error(`write-behind: ${collection}.${f} is not a declared counter`);
      if (!Number.isSafeInteger(n))
        throw new RangeError(`write-behind: ${collection}.${f} needs an integer`);
      add[f] = n;
    }
    const max: Record<string, number> = {};
    for (const [f, t] of Object.entries(change.latest ?? {})) {
      if (!spec.latest.includes(f))
        throw new Error(`write-behind: ${collection}.${f} is not a declared "latest" field`);
      max[f] = t instanceof Date ? t.getTime() : t;
    }
    const { config } = this.ctx;
    const { cache } = this.ctx.stores;
    if (!config.WRITE_BEHIND) return this.direct(collection, id, add, max);
    if (!cache.isConnected()) return this.unqueued(collection, id, add, max);
    let queuedId: string | null;
    try {
      queuedId = await cache.streamAdd(
        this.keys.queue,
        encodeChange({ collection, id, add, max }),
        config.WRITE_BEHIND_MAX_QUEUE,
      );
    } catch (err) {
      this.metrics.changes.inc({ collection, path: "unacknowledged" });
      throw err instanceof StoreUnavailableError ? err : new StoreUnavailableError("redis", err);
    }
    // Full: back-pressure, the change goes straight to MongoDB instead of waiting.
    if (queuedId === null) return this.direct(collection, id, add, max);
    this.metrics.changes.inc({ collection, path: "queued" });
    let overlay: Record<string, string> | null = null;
    try {
      overlay = await cache.overlayAccumulate(
        this.keys.overlay(collection, id),
        add,
        max,
        OVERLAY_TTL_SECONDS,
      );
    } catch (err) {
      // Queued and durable: readers only see it once flushed.
      this.ctx.logger.warn({ err, collection, id }, "write-behind overlay not updated");
    }
    // After the overlay (a fill reads it once its lease is taken): the times its cached entry
    // carries, raised in place (docs/WRITE-BEHIND.md).
    if (overlay && Object.keys(max).length > 0) await this.raiseCached(collection, id, max);
    return { path: "queued", overlay };
  }

  private async raiseCached(
    collection: string,
    id: string,
    max: Record<string, number>,
  ): Promise<void> {
    const engine = this.ctx.has("cache")
      ? this.ctx.use("cache").collection(collection)?.engine
      : undefined;
    try {
      await engine?.raiseLatest(id, max);
    } catch (err) {
      // Queued and in the overlay: a fill shows it; the entry read now shows it once flushed.
      this.ctx.logger.warn({ err, collection, id }, "write-behind: cached entry not raised");
    }
  }

  /** Redis unreachable: WRITE_BEHIND_REDIS_DOWN decides. */
  private unqueued(
    collection: string,
    id: string,
    add: Record<string, number>,
    max: Record<string, number>,
  ): Promise<ChangeOutcome> {
    if (this.ctx.config.WRITE_BEHIND_REDIS_DOWN === "drop") {
      this.metrics.changes.inc({ collection, path: "dropped" });
      return Promise.resolve({ path: "dropped", overlay: null });
    }
    return this.direct(collection, id, add, max);
  }

  /** One MongoDB write now; `_wb` untouched, so overlays stay exact (overlay.ts). */
  private async direct(
    collection: string,
    id: string,
    add: Record<string, number>,
    max: Record<string, number>,
  ): Promise<ChangeOutcome> {
    const doc = await this.ctx.stores.db
      .collection<Doc>(collection)
      .findOneAndUpdate({ _id: new ObjectId(id) }, directUpdate(add, max), {
        returnDocument: "after",
      });
    this.metrics.mongoWrites.inc({ kind: "direct" });
    this.metrics.changes.inc({ collection, path: "direct" });
    if (doc) await refreshCached(this.ctx, collection, [doc]);
    return { path: "direct", overlay: null };
  }
}
