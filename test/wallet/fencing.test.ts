import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { recoverEntry } from "../../plugins/features/wallet";
import { landIntent } from "../../plugins/features/wallet/balance/steps";
import type { LedgerEntry } from "../../plugins/features/wallet/balance/types";
import { createTestStack, type TestStack } from "../support/stack";
import { registerUser } from "../support/users";
import { assertMoneyInvariants } from "./invariants";

let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack();
});
afterAll(() => stack.close());

/** The state an originator leaves when it stalls right after recording its intent (step a). */
async function stalledIntent(userId: string, amount: number): Promise<LedgerEntry> {
  const opId = `stall:${crypto.randomUUID()}`;
  return stack.ctx.repo.collection<LedgerEntry>("ledger").insertOne({
    opId,
    userId: new ObjectId(userId),
    amount,
    reason: "stalled",
    status: "pending",
    createdAt: new Date(Date.now() - 60_000),
  } as Omit<LedgerEntry, "_id">);
}

describe("exactly once without clocks: recovery fences the op before applying it", () => {
  test("an originator resuming after recovery finished does not apply again", async () => {
    const u = await registerUser(stack);
    const entry = await stalledIntent(u.user.id, 700);
    expect(await recoverEntry(stack.ctx, entry)).toBe(true);
    const late = await landIntent(stack.ctx, entry, "originator"); // the stalled originator wakes up
    expect(late.applied).toBe(false);
    expect(late.balanceAfter).toBe(700);
    await assertMoneyInvariants(stack, [u.user.id]);
  });

  test("an originator and recovery racing: one of them applies, never both", async () => {
    for (let i = 0; i < 10; i++) {
      const u = await registerUser(stack);
      const entry = await stalledIntent(u.user.id, 300);
      const results = await Promise.allSettled([
        landIntent(stack.ctx, entry, "originator"),
        recoverEntry(stack.ctx, entry),
      ]);
      expect(results[1].status).toBe("fulfilled");
      const doc = await stack.stores.db
        .collection("users")
        .findOne({ _id: new ObjectId(u.user.id) });
      expect((doc?.wallet as { balance: number } | undefined)?.balance).toBe(300);
      await assertMoneyInvariants(stack, [u.user.id]);
    }
  });

  test("a second, stale recovery of an already recovered op does not apply again", async () => {
    const u = await registerUser(stack);
    const entry = await stalledIntent(u.user.id, 250);
    await recoverEntry(stack.ctx, entry);
    const stale = await landIntent(stack.ctx, entry, "recovery");
    expect(stale.applied).toBe(false);
    await assertMoneyInvariants(stack, [u.user.id]);
  });
});
