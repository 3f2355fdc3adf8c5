import { expect } from "bun:test";
import { ObjectId } from "bson";
import { CACHE_REPAIRS_COLLECTION } from "../../plugins/cache/cache-sync";
import { userKey } from "../../plugins/cache/cache-sync/keys";
import type { UserDoc } from "../../plugins/features/users";
import { drainUser, settleDrains } from "../../plugins/features/wallet";
import type { TestStack } from "../support/stack";

/**
 * The money invariants, read straight from the stores (not through the API under test). At any
 * moment: the applied ledger plus the landed ops still in the user's outbox sum to the balance.
 * Once the background drains are done: the applied ledger alone sums to it, no balance is
 * negative, no op is left half-done, and a cached entry (when present) equals MongoDB.
 */
export async function assertMoneyInvariants(
  stack: TestStack,
  userIds: readonly string[],
): Promise<void> {
  for (const id of userIds) {
    const users = stack.stores.db.collection<UserDoc>("users");
    const before = await users.findOne({ _id: new ObjectId(id) });
    expect(before).not.toBeNull();
    const rows = await stack.stores.db.collection("ledger").find({ userId: new ObjectId(id) });
    const inLedger = new Set(rows.filter((e) => e.status === "applied").map((e) => e.opId));
    const boxed = ((before!.ledgerOutbox as { opId: string; amount: number }[] | undefined) ?? [])
      .filter((e) => !inLedger.has(e.opId))
      .reduce((s, e) => s + e.amount, 0);
    const appliedBefore = rows
      .filter((e) => e.status === "applied")
      .reduce((s, e) => s + (e.amount as number), 0);
    expect(appliedBefore + boxed).toBe(before!.wallet.balance);

    await settleDrains(stack.ctx);
    await drainUser(stack.ctx, new ObjectId(id));
    const doc = await users.findOne({ _id: new ObjectId(id) });
    expect(doc).not.toBeNull();
    expect(doc!.ledgerOutbox ?? []).toEqual([]);
    const balance = doc!.wallet.balance;
    expect(balance).toBeGreaterThanOrEqual(0);
    const entries = await stack.stores.db.collection("ledger").find({ userId: new ObjectId(id) });
    const applied = entries.filter((e) => e.status === "applied");
    expect(entries.filter((e) => e.status === "pending")).toEqual([]);
    expect(applied.reduce((s, e) => s + (e.amount as number), 0)).toBe(balance);
    // Only fenced (recovered) ops keep their guard marker; every other op was settled.
    const fenced = new Set((doc!.fencedOps as string[] | undefined) ?? []);
    expect(
      ((doc!.pendingOps as string[] | undefined) ?? []).filter((op) => !fenced.has(op)),
    ).toEqual([]);
    await settleCacheDebt(stack, id);
    const cached = await stack.stores.cache.get(userKey(stack.config.CACHE_PREFIX, id));
    if (cached !== null) {
      const c = JSON.parse(cached) as { wallet: { balance: number }; version: number };
      expect(c.wallet.balance).toBe(balance);
      expect(c.version).toBe(doc!.version);
    }
  }
}

/**
 * A write-through Redis could not take in time (a loaded machine: REDIS_TIMEOUT_MS is short)
 * leaves the older entry in Redis with a durable repair debt, and it is not served meanwhile.
 * "cache = DB" is then the state after that repair, which is what is compared.
 */
async function settleCacheDebt(stack: TestStack, id: string): Promise<void> {
  const debts = stack.stores.db.collection(CACHE_REPAIRS_COLLECTION);
  const deadline = Date.now() + 10_000;
  while ((await debts.countDocuments({ userId: id })) > 0 && Date.now() < deadline) {
    await stack.ctx.use("cacheSync").repairPending();
    await Bun.sleep(50);
  }
}

/** Seeds money the way production does: an exactly-once ledgered credit. */
export async function fund(stack: TestStack, userId: string, amount: number): Promise<void> {
  await stack.ctx
    .use("balance")
    .apply(userId, amount, "test funding", { opId: `seed:${userId}:${crypto.randomUUID()}` });
}
