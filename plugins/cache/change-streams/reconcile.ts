import { ObjectId } from "bson";
import { isObjectIdHex } from "../../../src/core/object-id";
import type { PluginContext } from "../../../src/core/plugin";
import { USER_COLLECTION, type UserDoc } from "../../features/users";
import { type CacheEngine, DELETED_VERSION } from "../cache-sync/engine";
import type { ChangeApplier } from "./apply";

const BATCH = 200;

/** The reconcile reason of a first start (no position stored yet). */
export const NO_POSITION = "no stored position";

/**
 * The full reconcile run when the stream position is lost (history trimmed while no instance
 * consumed, an unusable token, or no position stored yet): every cached user is compared with
 * MongoDB and settled through the applier's ordered path. Runs at most once per `minIntervalMs`:
 * a later request waits for its turn rather than being dropped, since correctness needs it.
 */
export class Reconciler {
  private lastRun = 0;
  private running: Promise<{ checked: number; fixed: number }> | null = null;

  constructor(
    private readonly ctx: PluginContext,
    private readonly engine: CacheEngine,
    private readonly applier: ChangeApplier,
    private readonly minIntervalMs: number,
    private readonly onRun: (reason: string) => void,
  ) {}

  run(reason: string, stopped: () => boolean): Promise<{ checked: number; fixed: number }> {
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

  private async reconcile(reason: string, stopped: () => boolean) {
    this.lastRun = Date.now();
    this.onRun(reason);
    const prefix = this.ctx.config.CACHE_PREFIX;
    const userPrefix = `${prefix}user:`;
    const ids: string[] = [];
    await this.ctx.stores.cache.scan(`${userPrefix}*`, (keys) => {
      for (const k of keys) {
        const id = k.slice(userPrefix.length);
        if (isObjectIdHex(id)) ids.push(id);
      }
    });
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
    // Owner lists cannot be compared key by key (no owner is in a lost event): they refill.
    if (this.ctx.has("ownerLists")) await this.ctx.use("ownerLists").dropAll();
    const result = { checked: ids.length, fixed };
    // A first start on an empty or agreeing cache is routine; anything repaired, or a lost
    // position, is worth an operator's attention.
    const level = fixed > 0 || reason !== NO_POSITION ? "warn" : "debug";
    this.ctx.logger[level]({ reason, ...result }, "reconciled every cached user with MongoDB");
    return result;
  }
}
