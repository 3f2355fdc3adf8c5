import pMap from "p-map";
import { takeLater } from "./carried-fields";
import type { CachedDoc } from "./collection";
import { type CollectionEngine, type FillLease, isHexId } from "./collection-engine";
import { DELETED_VERSION } from "./core";

/** What validate found: consistent, or repaired (with the entry before and MongoDB's document). */
export type Validation<T> =
  | { consistent: true }
  | { consistent: false; action: "fixed"; cached: T; fresh: T | null };

export interface BulkSyncResult {
  succeeded: number;
  failed: number;
  total: number;
}

/**
 * validate / sync / invalidate / bulk-sync for one collection: the operations behind the admin
 * routes and the periodic consistency check, the same for every declaration.
 */
export class AdminOps<T extends CachedDoc> {
  constructor(private readonly engine: CollectionEngine<T>) {}

  /** Compares the entry with MongoDB; a difference is repaired (rebuilt under a lease). */
  async validate(id: string): Promise<Validation<T>> {
    if (!isHexId(id)) return { consistent: true };
    const { engine } = this;
    const [doc, raw] = await Promise.all([engine.raw(id), engine.core.cache.get(engine.key(id))]);
    // A missing entry is consistent: nothing stale to serve.
    if (raw === null) return { consistent: true };
    const cached = JSON.parse(raw) as T;
    const { metrics } = engine.core;
    const { logger } = engine.core.ctx;
    const labels = { source: "validate" };
    if (!doc) {
      await engine.invalidateEntry(id, DELETED_VERSION, [cached]);
      metrics.repairs.inc(labels);
      return { consistent: false, action: "fixed", cached, fresh: null };
    }
    const fresh = engine.sanitize(doc);
    const compared = JSON.parse(JSON.stringify(fresh)) as T;
    // A carried time later than MongoDB's is a change write-behind queued, not a difference.
    if (engine.carry) takeLater(compared, cached, engine.carry.fields);
    if (Bun.deepEquals(compared, cached)) return { consistent: true };
    await engine.refresh(id);
    metrics.repairs.inc(labels);
    logger.warn(
      { collection: engine.decl.name, id, cachedVersion: cached.version, dbVersion: fresh.version },
      "repaired an inconsistent cache entry",
    );
    return { consistent: false, action: "fixed", cached, fresh };
  }

  /** Rebuilds the entry from MongoDB; null when the document does not exist. */
  sync(id: string): Promise<T | null> {
    return this.engine.refresh(id);
  }

  /**
   * Empties the entry and its index keys (`also`: index values known to the caller, e.g. an
   * email the document no longer has). MongoDB down: the entry is still emptied.
   */
  async invalidate(id: string, also: readonly Record<string, unknown>[] = []): Promise<void> {
    if (!isHexId(id)) return;
    let version = 0;
    const known = [...also];
    try {
      const doc = await this.engine.raw(id);
      if (doc) {
        version = Number(doc[this.engine.decl.versionField] ?? 0);
        known.push(doc);
      }
    } catch {
      // MongoDB down: emptied at the stored version all the same.
    }
    await this.engine.invalidateEntry(id, version, known);
  }

  /** Rebuilds many entries: emptied and leased first, read in batches of 500, filled. */
  async bulkSync(ids: readonly unknown[]): Promise<BulkSyncResult> {
    const { engine } = this;
    let succeeded = 0;
    // One entry per document however the id was written: duplicates and case do not count twice.
    const unique = [
      ...new Set(ids.map((id) => (typeof id === "string" ? id.toLowerCase() : String(id)))),
    ];
    const valid = unique.filter(isHexId);
    for (let i = 0; i < valid.length; i += 500) {
      const batch = valid.slice(i, i + 500);
      // Emptied and leased before the read, as a miss does: a write acknowledged meanwhile wins.
      const leases = new Map<string, FillLease>();
      await pMap(
        batch,
        async (id) => {
          try {
            leases.set(id, await engine.prepareRefresh(id));
          } catch {
            // counted as failed below
          }
        },
        { concurrency: 32 },
      );
      const docs = await engine.rawMany([...leases.keys()]);
      // ioredis auto-pipelining batches these writes; the limit bounds memory and Redis load.
      await pMap(
        docs,
        async (doc) => {
          const fresh = engine.sanitize(doc);
          await engine.fill(fresh, leases.get(fresh.id) ?? { held: false });
          succeeded++;
        },
        { concurrency: 32 },
      );
    }
    return { succeeded, failed: unique.length - succeeded, total: unique.length };
  }
}
