import { badRequest, setupError } from "../../../src/core/errors";
import type { PluginContext } from "../../../src/core/plugin";
import type { Update } from "../../../src/core/ports/document-store";
import type { SanitizedUser } from "../../features/users";
import type {
  BalanceChange,
  BalanceResult,
  CacheSyncService,
  ConsistencyReport,
} from "./cache-sync-service";
import type { CollectionCache } from "./collection-cache";

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

const balanceOf = (u: SanitizedUser | null) => Number(u?.wallet?.balance ?? 0);

/**
 * SPEC §2's five methods (plus the admin rebuilds): the names clients know, on top of the users
 * collection's cache (`cache.users`), which does the work for every declared collection alike.
 */
export class CacheSyncServiceImpl implements CacheSyncService {
  constructor(
    private readonly ctx: PluginContext,
    private readonly users: CollectionCache<SanitizedUser>,
  ) {}

  getUserWithSync(userId: string): Promise<SanitizedUser | null> {
    return this.users.get(userId);
  }

  getUserByEmailWithSync(email: string): Promise<SanitizedUser | null> {
    if (typeof email !== "string" || email.length === 0) return Promise.resolve(null);
    return this.users.getBy("email", email);
  }

  async updateUserWithSync(
    userId: string,
    updates: Update,
    meta: { reason?: string } = {},
  ): Promise<SanitizedUser | null> {
    const ops = Object.keys(updates ?? {});
    if (ops.length === 0 || ops.some((op) => !UPDATE_OPERATORS.has(op))) {
      throw badRequest("updates must be a MongoDB update document ($set, $inc, …)", {
        operators: ops,
      });
    }
    return this.users.update(userId, updates, meta.reason ? { reason: meta.reason } : {});
  }

  updateBalanceWithSync(
    userId: string,
    amount: number,
    reason: string,
    change: BalanceChange = {},
  ): Promise<BalanceResult> {
    if (!this.ctx.has("balance")) {
      throw setupError("CS_ERR_SERVICE_MISSING", "updateBalanceWithSync needs the wallet plugin");
    }
    return this.ctx.use("balance").apply(userId, amount, reason, change);
  }

  /** SPEC §2: `difference` is MongoDB's balance minus the cached one. */
  async validateCacheConsistency(userId: string): Promise<ConsistencyReport> {
    const v = await this.users.validate(userId);
    if (v.consistent) return v;
    return {
      consistent: false,
      action: "fixed",
      difference: balanceOf(v.fresh) - balanceOf(v.cached),
    };
  }

  invalidateUserCache(userId: string, email?: string): Promise<void> {
    return this.users.invalidate(userId, email ? [{ email }] : []);
  }

  syncUser(userId: string): Promise<SanitizedUser | null> {
    return this.users.sync(userId);
  }

  bulkSync(userIds: readonly string[]) {
    return this.users.bulkSync(userIds);
  }

  repairPending(): Promise<number> {
    return this.users.engine.core.repairPending();
  }
}
