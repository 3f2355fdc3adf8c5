import { ObjectId } from "bson";
import pMap from "p-map";
import type { PluginContext } from "../../../src/core/plugin";
import { USER_COLLECTION, type UserDoc } from "../../features/users";
import { entryKey } from "../cache-sync";
import { type CacheEngine, DELETED_VERSION } from "../cache-sync/engine";
import type { ChangeApplier } from "./apply";
import type { StreamMetrics } from "./metrics";

const BATCH = 200;
/** Entries of another collection validated at once (each is one MongoDB read). */
const CONCURRENCY = 8;
// Exactly `<entity>:<24 hex>`: an index key (`<entity>:<field>:…`) cannot match.
const ID_GLOB = "[0-9a-f]".repeat(24);

/** The reconcile reason of a first start (no position stored yet). */
export const NO_POSITION = "no stored position";

/** What one reconcile found, per collection (`ownerLists`: list entries emptied). */
export interface ReconcileResult {
  startedAt: string;
  collections: Record<string, { checked: number; fixed: number }>;
  ownerLists: number;
}

/**
 * The full reconcile run when the stream position is lost (history trimmed while no instance
 * consumed, an unusable token, or no position stored yet): the cached entries of every declared
 * collection are compared with MongoDB and repaired. Users go through the applier's ordered path
 * (a version bump for same-version content); other collections through their own `validate`
 * (a difference is rebuilt under a fill lease, so a write acknowledged meanwhile wins); owner
 * lists, which no lost event can name, are emptied and refill. Runs at most once per
 * `minIntervalMs`: a later request waits for its turn rather than being dropped, since
 * correctness needs it.
 */
export class Reconciler {
  private lastRun = 0;
  private running: Promise<ReconcileResult> | null = null;

  constructor(
    private readonly ctx: PluginContext,
    private readonly engine: CacheEngine,
    private readonly applier: ChangeApplier,
    private readonly minIntervalMs: number,
    private readonly metrics: Pick<StreamMetrics, "reconciles" | "reconciled">,
  ) {}

  run(reason: string, stopped: () => boolean): Promise<ReconcileResult> {
    this.running ??= this.pace(stopped)
      .then(() => this.reconcile(reason, stopped))
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private async pace(stopped: () => boolean): Promise<void> {
    while (!stopped() && Date.now() < this.lastRun + this.minIntervalMs)
      await Bun.sleep(Math.min(500, this.lastRun + this.minIntervalMs - Date.now()));
  }

  private async reconcile(reason: string, stopped: () => boolean): Promise<ReconcileResult> {
    this.lastRun = Date.now();
    this.metrics.reconciles.inc({ reason });
    const result: ReconcileResult = {
      startedAt: new Date(this.lastRun).toISOString(),
      collections: {},
      ownerLists: 0,
    };
    this.done(result, USER_COLLECTION, await this.users(stopped));
    const cache = this.ctx.use("cache");
    for (const decl of cache.declarations()) {
      const collection = cache.collection(decl.name);
      if (decl.name === USER_COLLECTION || !collection || stopped()) continue;
      const ids = await this.cachedIds(decl.entity);
      let fixed = 0;
      await pMap(
        ids,
        async (id) => {
          if (stopped()) return;
          if (!(await collection.validate(id)).consistent) fixed++;
        },
        { concurrency: CONCURRENCY },
      );
      this.done(result, decl.name, { checked: ids.length, fixed });
    }
    // Owner lists cannot be compared key by key (no owner is in a lost event): they refill.
    if (this.ctx.has("ownerLists")) result.ownerLists = await this.ctx.use("ownerLists").dropAll();
    const fixed = Object.values(result.collections).reduce((n, c) => n + c.fixed, 0);
    // A first start on an empty or agreeing cache is routine; anything repaired, or a lost
    // position, is worth an operator's attention.
    const level = fixed > 0 || reason !== NO_POSITION ? "warn" : "debug";
    this.ctx.logger[level](
      { reason, ...result },
      "reconciled every cached entry of every declared collection with MongoDB",
    );
    return result;
  }

  /** One collection reconciled: recorded, and counted at once (not when the whole run ends). */
  private done(result: ReconcileResult, collection: string, c: { checked: number; fixed: number }) {
    result.collections[collection] = c;
    this.metrics.reconciled.inc({ collection, outcome: "checked" }, c.checked);
    this.metrics.reconciled.inc({ collection, outcome: "repaired" }, c.fixed);
  }

  /** The ids of `<prefix><entity>:<id>` entries in Redis (SCAN, never KEYS). */
  private async cachedIds(entity: string): Promise<string[]> {
    const prefix = entryKey(this.ctx.config.CACHE_PREFIX, entity, "");
    const ids: string[] = [];
    await this.ctx.stores.cache.scan(`${prefix}${ID_GLOB}`, (keys) => {
      for (const k of keys) ids.push(k.slice(prefix.length));
    });
    return ids;
  }

  private async users(stopped: () => boolean) {
    const ids = await this.cachedIds(this.engine.decl.entity);
    let fixed = 0;
    for (let i = 0; i < ids.length && !stopped(); i += BATCH) {
      const batch = ids.slice(i, i + BATCH);
      const docs = await this.engine.observeMongo(
        this.ctx.stores.db
          .collection<UserDoc>(USER_COLLECTION)
          .find({ _id: { $in: batch.map((id) => new ObjectId(id)) } }),
      );
      const byId = new Map(docs.map((d) => [d._id.toHexString(), d]));
      for (const id of batch) {
        // Tombstones and fill leases read as null: nothing stale is served from those.
        const cached = await this.engine.getCached(id);
        if (!cached) continue;
        const doc = byId.get(id);
        if (!doc) {
          await this.engine.invalidate(id, DELETED_VERSION, cached.email ? [cached.email] : []);
          fixed++;
          continue;
        }
        // Unversioned: the stored version may equal the cached one with other content.
        const outcome = await this.applier.settle(id, doc, false);
        if (outcome !== "unchanged") fixed++;
      }
    }
    return { checked: ids.length, fixed };
  }
}
