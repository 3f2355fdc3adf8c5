import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { defaultPlugins } from "../../app/plugins";
import { userKey } from "../../plugins/cache/cache-sync/keys";
import { type Faults, walletPlugin } from "../../plugins/features/wallet";
import type { Plugin } from "../../src/core/plugin";
import { createTestStack, type TestStack } from "../support/stack";
import { ADMIN_ENV, callJson, loginAdmin, registerUser } from "../support/users";
import { assertMoneyInvariants, fund } from "./invariants";

/**
 * An approval starts each step once MongoDB acknowledged the previous one, its legs'
 * write-through and events running meanwhile (balance/steps.ts landOpEarly). What it must still
 * hold: the answer comes after every leg's write-through. A `write` hook outside the wallet's
 * holds each leg's caches back by 150 ms after MongoDB answered, so an answer that did not wait
 * would find the older balances in Redis.
 */
const HOLD_MS = 150;
const slowCaches: Plugin = {
  name: "slow-leg-caches",
  hooks: [
    {
      phase: "write",
      collection: "users",
      op: "findOneAndUpdate",
      run: async (call, next) => {
        const result = await next();
        if (call.write.opId?.startsWith("deposit:")) await Bun.sleep(HOLD_MS);
        return result;
      },
    },
  ],
};

let stack: TestStack;
const faults: Faults = {};
let admin: { token: string; id: string };

beforeAll(async () => {
  const plugins = defaultPlugins().map((p) => (p.name === "wallet" ? walletPlugin({ faults }) : p));
  stack = await createTestStack({ plugins: [slowCaches, ...plugins], env: { ...ADMIN_ENV } });
  const token = await loginAdmin(stack);
  const me = await callJson(stack, "GET", "/api/v1/users/me", { token });
  admin = { token, id: me.body.data.user.id };
  await fund(stack, admin.id, 1_000_000);
});
afterAll(() => stack.close());

const cachedBalance = async (id: string) => {
  const raw = await stack.stores.cache.get(userKey(stack.config.CACHE_PREFIX, id));
  return raw === null ? null : (JSON.parse(raw) as { wallet: { balance: number } }).wallet.balance;
};

/** Approves a fresh deposit of `amount` with both accounts cached; returns the depositor's id. */
async function approveCached(amount: number): Promise<string> {
  const u = await registerUser(stack);
  const dep = await callJson(stack, "POST", "/api/v1/deposits/request", {
    token: u.token,
    body: { amount, senderName: "x" },
  });
  await callJson(stack, "GET", "/api/v1/users/me", { token: u.token });
  await callJson(stack, "GET", "/api/v1/users/me", { token: admin.token });
  expect(await cachedBalance(u.user.id)).toBe(0);
  const r = await stack.call("PUT", `/api/v1/deposits/${dep.body.data.id}/approve`, {
    token: admin.token,
  });
  expect(r.status).toBe(200);
  return u.user.id;
}

describe("an approval answers after its legs' write-through", () => {
  test("both cached balances are the new ones when the answer arrives", async () => {
    const adminBefore = await cachedBalance(admin.id);
    const userId = await approveCached(700);
    expect(await cachedBalance(userId)).toBe(700);
    expect(await cachedBalance(admin.id)).toBe((adminBefore as number) - 700);
    await assertMoneyInvariants(stack, [userId, admin.id]);
  });

  test("the check notices an answer that does not wait for them", async () => {
    faults.answerBeforeWriteThrough = true;
    try {
      const userId = await approveCached(300);
      expect(await cachedBalance(userId)).toBe(0);
      await Bun.sleep(HOLD_MS * 2);
      expect(await cachedBalance(userId)).toBe(300);
      await assertMoneyInvariants(stack, [userId, admin.id]);
    } finally {
      faults.answerBeforeWriteThrough = undefined;
    }
  });
});
