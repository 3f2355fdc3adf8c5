import { ObjectId } from "bson";
import pMap from "p-map";
import { AppError, badRequest } from "../../src/core/errors";
import type { PluginContext } from "../../src/core/plugin";
import type { Update } from "../../src/core/ports/document-store";
import type {
  BalanceChange,
  BalanceResult,
  CacheSyncService,
  ConsistencyReport,
} from "../../src/domain/cache-sync";
import { type SanitizedUser, USER_COLLECTION, type UserDoc } from "../../src/domain/user";
import type { CacheEngine, FillLease } from "./engine";

const isHexId = (id: string) => typeof id === "string" && /^[0-9a-fA-F]{24}$/.test(id);

/** Allowed update operators for updateUserWithSync: no pipelines, no replacement documents. */
const UPDATE_OPERATORS = new Set([
  "$set",
  "$unset",
  "$inc",
  "$push",
  "$pull",
  "$addToSet",
  "$min",
  "$max",
  "$currentDate",
]);

/**
 * SPEC §2's five methods (plus the admin rebuilds) on top of the hooked repository: the hooks
 * do the caching, this class only decides which repository call expresses each contract.
 */
export class CacheSyncServiceImpl implements CacheSyncService {
  constructor(
    private readonly ctx: PluginContext,
    private readonly engine: CacheEngine,
  ) {}

  private users(state?: Record<string, unknown>) {
    return this.ctx.repo.collection<UserDoc>(USER_COLLECTION, state ? { state } : {});
  }

  getUserWithSync(userId: string): Promise<SanitizedUser | null> {
    if (!isHexId(userId)) return Promise.resolve(null);
    // Not async: on the hot hit path every avoided promise hop shows in the benchmark.
    return this.users().findOne({
      _id: new ObjectId(userId),
    }) as unknown as Promise<SanitizedUser | null>;
  }

  async getUserByEmailWithSync(email: string): Promise<SanitizedUser | null> {
    if (typeof email !== "string" || email.length === 0) return null;
    return (await this.users().findOne({
      email: email.trim().toLowerCase(),
    })) as unknown as SanitizedUser | null;
  }

  async updateUserWithSync(
    userId: string,
    updates: Update,
    meta: { reason?: string } = {},
  ): Promise<SanitizedUser | null> {
    if (!isHexId(userId)) return null;
    const ops = Object.keys(updates ?? {});
    if (ops.length === 0 || ops.some((op) => !UPDATE_OPERATORS.has(op))) {
      throw badRequest("updates must be a MongoDB update document ($set, $inc, …)", {
        operators: ops,
      });
    }
    const updated = await this.users(
      meta.reason ? { reason: meta.reason } : undefined,
    ).findOneAndUpdate({ _id: new ObjectId(userId) }, updates, { returnDocument: "after" });
    return updated as unknown as SanitizedUser | null;
  }

  updateBalanceWithSync(
    userId: string,
    amount: number,
    reason: string,
    change: BalanceChange = {},
  ): Promise<BalanceResult> {
    if (!this.ctx.has("balance")) {
      throw new AppError(
        "CS_ERR_SERVICE_MISSING",
        500,
        "updateBalanceWithSync needs the wallet plugin",
      );
    }
    return this.ctx.use("balance").apply(userId, amount, reason, change);
  }

  async validateCacheConsistency(userId: string): Promise<ConsistencyReport> {
    if (!isHexId(userId)) return { consistent: true };
    const [doc, raw] = await Promise.all([
      this.engine.rawUser(userId),
      this.ctx.cache.get(this.engine.userKey(userId)),
    ]);
    if (raw === null) return { consistent: true };
    const cached = JSON.parse(raw) as SanitizedUser;
    const cachedBalance = Number(cached.wallet?.balance ?? 0);
    if (!doc) {
      await this.engine.invalidate(
        userId,
        Number.MAX_SAFE_INTEGER,
        cached.email ? [cached.email] : [],
      );
      this.engine.metrics.repairs.inc({ source: "validate" });
      return { consistent: false, action: "fixed", difference: -cachedBalance };
    }
    const fresh = this.engine.sanitize(doc);
    if (Bun.deepEquals(JSON.parse(JSON.stringify(fresh)), cached)) return { consistent: true };
    await this.engine.refresh(userId);
    this.engine.metrics.repairs.inc({ source: "validate" });
    this.ctx.logger.warn(
      { userId, cachedVersion: cached.version, dbVersion: fresh.version },
      "repaired an inconsistent cache entry",
    );
    return { consistent: false, action: "fixed", difference: fresh.wallet.balance - cachedBalance };
  }

  async invalidateUserCache(userId: string, email?: string): Promise<void> {
    if (!isHexId(userId)) return;
    let version = 0;
    const emails = email ? [email.toLowerCase()] : [];
    try {
      const doc = await this.engine.rawUser(userId);
      if (doc) {
        version = doc.version;
        if (!emails.includes(doc.email)) emails.push(doc.email);
      }
    } catch {
      // MongoDB down: a tombstone at the stored version still removes the entry.
    }
    await this.engine.invalidate(userId, version, emails);
  }

  syncUser(userId: string): Promise<SanitizedUser | null> {
    return this.engine.refresh(userId);
  }

  async bulkSync(
    userIds: readonly string[],
  ): Promise<{ succeeded: number; failed: number; total: number }> {
    let succeeded = 0;
    // One entry per user however the id was written: duplicates and case do not count twice.
    const unique = [
      ...new Set(userIds.map((id) => (typeof id === "string" ? id.toLowerCase() : String(id)))),
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
            leases.set(id, await this.engine.prepareRefresh(id));
          } catch {
            // counted as failed below
          }
        },
        { concurrency: 32 },
      );
      const docs = await this.engine.observeMongo(
        this.ctx.db
          .collection<UserDoc>(USER_COLLECTION)
          .find({ _id: { $in: [...leases.keys()].map((id) => new ObjectId(id)) } }),
      );
      // ioredis auto-pipelining batches these writes; the limit bounds memory and Redis load.
      await pMap(
        docs,
        async (doc) => {
          const id = doc._id.toHexString();
          await this.engine.fill(this.engine.sanitize(doc), leases.get(id) ?? { held: false });
          succeeded++;
        },
        { concurrency: 32 },
      );
    }
    return { succeeded, failed: unique.length - succeeded, total: unique.length };
  }

  repairPending(): Promise<number> {
    return this.engine.repairPending();
  }
}
