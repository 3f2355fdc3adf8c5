import { ObjectId } from "bson";
import type { PluginContext } from "../../../src/core/plugin";
import type { ChangeEvent } from "../../../src/core/ports/document-store";
import { type SanitizedUser, USER_COLLECTION, type UserDoc } from "../../features/users";
import type { OwnerLists } from "../cache-sync";
import { type CacheEngine, DELETED_VERSION } from "../cache-sync/engine";
import { eventMetrics, eventsTopic, type UserDataUpdated } from "../events";

export type Applied = "skipped" | "refreshed" | "bumped" | "tombstoned" | "unchanged" | "changed";

export interface ApplierOptions {
  /** Top-level fields that never reach the cache: a change to those alone leaves entries valid. */
  hidden: ReadonlySet<string>;
  /**
   * The ordering protection (on in production). Off, an event is applied as a plain refresh at
   * the document's own version: a test uses it to show the stale entry that is then left behind.
   */
  ordering: boolean;
  /** Owner lists whose members' changes bump and empty them (absent: no lists are declared). */
  lists?: OwnerLists;
}

const topLevel = (path: string) => path.split(".")[0] as string;

/**
 * Applies a change made in MongoDB to the cache through the same versioned paths as the
 * service's writes (SPEC §8 "Writes that bypass the service").
 *
 * The ordering rule: a cache entry is only ever replaced by a strictly newer version. A change
 * that kept `version` (the usual outside script) would be invisible to that rule, and a fill that
 * read the older content at the same version could land after it. So such a change is given a
 * version of its own: `$max: { version: max(cached, stored) + 1 }` on the document in MongoDB
 * (atomic, never lowers it, idempotent when replayed), and that newer document is written
 * through. Any entry or fill holding the pre-change content now carries a lower version and loses.
 */
export class ChangeApplier {
  constructor(
    private readonly ctx: PluginContext,
    private readonly engine: CacheEngine,
    private readonly options: ApplierOptions,
  ) {}

  async apply(e: ChangeEvent): Promise<Applied> {
    if (e.collection !== USER_COLLECTION) return this.member(e);
    if (!(e.id instanceof ObjectId)) return "skipped";
    const id = e.id.toHexString();
    if (e.op === "delete") return this.deleted(id);
    const fields = [...(e.updatedFields ?? []), ...(e.removedFields ?? [])].map(topLevel);
    if (e.op === "update" && fields.every((f) => this.options.hidden.has(f))) return "skipped";
    const doc = e.fullDocument ?? null;
    // Looked up after a later delete: the delete event that follows settles it.
    if (!doc) return "skipped";
    const versioned =
      (e.op === "update" && fields.includes("version")) ||
      (e.op === "insert" && typeof doc.version === "number");
    // A registration through the service: nothing can be cached under a brand-new id.
    if (e.op === "insert" && versioned) return "skipped";
    const changed =
      e.op === "update" ? fields.filter((f) => !this.options.hidden.has(f)) : undefined;
    return this.settle(id, doc as UserDoc, versioned, changed);
  }

  /**
   * Makes the cache agree with `doc` (MongoDB's document) without ever letting an older entry
   * win. `versioned`: the change carried its own version bump.
   */
  async settle(id: string, doc: UserDoc, versioned: boolean, changed?: string[]): Promise<Applied> {
    const fresh = this.engine.sanitize(doc);
    const cached = await this.engine.getCached(id);
    if (cached && sameContent(cached, fresh)) return "unchanged";
    if (!this.options.ordering) {
      await this.engine.writeThrough(fresh);
      return "refreshed";
    }
    // Newer than anything cached: a plain write-through orders it (in-service writes do the same).
    if (versioned && (!cached || cached.version < fresh.version)) {
      await this.engine.writeThrough(fresh);
      return "refreshed";
    }
    return this.bump(id, Math.max(cached?.version ?? 0, numeric(doc.version)) + 1, changed);
  }

  private async bump(id: string, target: number, changed?: string[]): Promise<Applied> {
    // Raw store, hooks off (explicitly): this is the version step, not a user-visible update.
    const after = await this.engine.observeMongo(
      this.ctx.stores.db
        .collection<UserDoc>(USER_COLLECTION)
        .findOneAndUpdate(
          { _id: new ObjectId(id) },
          { $max: { version: target } },
          { returnDocument: "after" },
        ),
    );
    if (!after) return "skipped";
    const user = this.engine.sanitize(after);
    await this.engine.writeThrough(user);
    this.publish(user, changed);
    return "bumped";
  }

  /**
   * Another collection: its cached entry (a declared collection) emptied — the next read refills
   * it from MongoDB under a lease — and the owner lists it is a member of changed. A brand-new id
   * has no entry to empty.
   */
  private async member(e: ChangeEvent): Promise<Applied> {
    const cached = this.ctx.has("cache") ? this.ctx.use("cache").collection(e.collection) : null;
    const id = e.id instanceof ObjectId ? e.id.toHexString() : null;
    const emptied = cached !== null && cached !== undefined && e.op !== "insert" && id !== null;
    if (emptied) await cached.invalidate(id);
    const listed = this.options.lists ? await this.options.lists.applyChange(e) : "skipped";
    return emptied || listed === "changed" ? "changed" : "skipped";
  }

  private async deleted(id: string): Promise<Applied> {
    const cached = await this.engine.getCached(id);
    await this.engine.invalidate(id, DELETED_VERSION, cached?.email ? [cached.email] : []);
    return "tombstoned";
  }

  /** Browsers learn of the outside change like of any other (best effort, as the events plugin). */
  private publish(user: SanitizedUser, changed?: string[]): void {
    const event: UserDataUpdated = {
      type: "userDataUpdated",
      userId: user.id,
      version: user.version,
      changed: changed ?? Object.keys(user).filter((k) => k !== "id"),
      user,
      at: new Date().toISOString(),
      reason: "changed in MongoDB",
    };
    this.ctx.bus.publish(eventsTopic(this.ctx.config.CACHE_PREFIX), JSON.stringify(event)).then(
      () => eventMetrics(this.ctx.metrics).eventsPublished.inc(),
      (err) => this.ctx.logger.warn({ err, userId: user.id }, "userDataUpdated not published"),
    );
  }
}

const numeric = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);

function sameContent(cached: SanitizedUser, fresh: SanitizedUser): boolean {
  return Bun.deepEquals(JSON.parse(JSON.stringify(fresh)), cached);
}
