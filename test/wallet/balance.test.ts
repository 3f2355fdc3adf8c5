import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestStack, type TestStack } from "../support/stack";
import { registerUser } from "../support/users";
import { assertMoneyInvariants, fund } from "./invariants";

let stack: TestStack;
beforeAll(async () => {
  // 1,000 in-flight ops queue up on one test server; the default 1 s store timeout would turn the
  // queue into StoreUnavailable errors rather than measure the protocol.
  stack = await createTestStack({ env: { MONGO_TIMEOUT_MS: 30_000 } });
});
afterAll(() => stack.close());

describe("BalanceService", () => {
  test("1,000 concurrent mixed credits and debits on one user: exact balance, ledger sums, cache == DB", async () => {
    const { user } = await registerUser(stack);
    await fund(stack, user.id, 10_000);
    const balance = stack.ctx.use("balance");
    // Debits of 7 never exceed what the credits and the seed can cover, so every op must apply.
    const ops = Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? 13 : -7));
    const started = performance.now();
    const results = await Promise.allSettled(
      ops.map((amount, i) => balance.apply(user.id, amount, `mixed #${i}`)),
    );
    const ms = performance.now() - started;
    console.log(
      `1000 concurrent balance ops: ${ms.toFixed(0)} ms (${(1000 / (ms / 1000)).toFixed(0)} ops/s)`,
    );
    const failed = results.filter((r) => r.status === "rejected");
    expect(failed).toEqual([]);
    await assertMoneyInvariants(stack, [user.id]);
    const fresh = await stack.ctx.use("cacheSync").getUserWithSync(user.id);
    expect(fresh?.wallet.balance).toBe(10_000 + 500 * 13 - 500 * 7);
  }, 120_000);

  test("debits racing for the same money never overdraw", async () => {
    const { user } = await registerUser(stack);
    await fund(stack, user.id, 1000);
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () => stack.ctx.use("balance").apply(user.id, -100, "race")),
    );
    const won = results.filter((r) => r.status === "fulfilled").length;
    expect(won).toBe(10);
    for (const r of results)
      if (r.status === "rejected")
        expect((r.reason as { code: string }).code).toBe("INSUFFICIENT_FUNDS");
    await assertMoneyInvariants(stack, [user.id]);
  });

  test("the same opId retried concurrently applies once", async () => {
    const { user } = await registerUser(stack);
    const balance = stack.ctx.use("balance");
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        balance.apply(user.id, 250, "retry", { opId: "retry:1" }).catch((e) => e),
      ),
    );
    const applied = results.filter((r) => r.applied === true).length;
    expect(applied).toBe(1);
    const again = await balance.apply(user.id, 250, "retry", { opId: "retry:1" });
    expect(again.applied).toBe(false);
    expect(again.balanceAfter).toBe(250);
    await expect(balance.apply(user.id, 999, "reuse", { opId: "retry:1" })).rejects.toMatchObject({
      code: "OP_ID_REUSED",
    });
    await assertMoneyInvariants(stack, [user.id]);
  });

  test("insufficient funds and unknown user change nothing and leave no ledger entry", async () => {
    const { user } = await registerUser(stack);
    const balance = stack.ctx.use("balance");
    await expect(balance.apply(user.id, -1, "overdraw", { opId: "od:1" })).rejects.toMatchObject({
      code: "INSUFFICIENT_FUNDS",
    });
    await expect(
      balance.apply("65f0c0ffee0000000000beef", 5, "ghost", { opId: "ghost:1" }),
    ).rejects.toMatchObject({ status: 404 });
    expect(
      await stack.stores.db
        .collection("ledger")
        .countDocuments({ opId: { $in: ["od:1", "ghost:1"] } }),
    ).toBe(0);
    // A retry after funding goes through with the same opId.
    await fund(stack, user.id, 5);
    expect((await balance.apply(user.id, -1, "overdraw", { opId: "od:1" })).applied).toBe(true);
    await assertMoneyInvariants(stack, [user.id]);
  });

  test("updateBalanceWithSync delegates to the balance service", async () => {
    const { user } = await registerUser(stack);
    const r = await stack.ctx
      .use("cacheSync")
      .updateBalanceWithSync(user.id, 42, "via facade", { opId: "facade:1" });
    expect(r).toMatchObject({ applied: true, balanceAfter: 42 });
    await assertMoneyInvariants(stack, [user.id]);
  });
});
