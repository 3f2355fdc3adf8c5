import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { defaultPlugins } from "../../app/plugins";
import {
  type ApprovalStep,
  type BalanceStep,
  type Faults,
  recoverWallet,
  settleDrains,
  walletPlugin,
} from "../../plugins/features/wallet";
import { createTestStack, type TestStack } from "../support/stack";
import { ADMIN_ENV, callJson, loginAdmin, registerUser } from "../support/users";
import { assertMoneyInvariants, fund } from "./invariants";

/**
 * SPEC §8: money never moves for an account that no longer exists. An approval whose owner (or
 * approver) was deleted in MongoDB ends `rejected` (ACCOUNT_GONE) with nothing debited — before
 * anything moved, or by a ledgered refund exactly once — live, and through recovery after a
 * crash at any step. Nothing stays in `approving`.
 */
class Crash extends Error {}

let stack: TestStack;
const faults: Faults = {};
let admin: { token: string; id: string };

beforeAll(async () => {
  const plugins = defaultPlugins().map((p) => (p.name === "wallet" ? walletPlugin({ faults }) : p));
  stack = await createTestStack({ plugins, env: { ...ADMIN_ENV } });
  admin = { token: await loginAdmin(stack), id: "" };
  admin.id = (
    await callJson(stack, "GET", "/api/v1/users/me", { token: admin.token })
  ).body.data.user.id;
  await fund(stack, admin.id, 1_000_000);
});
afterAll(() => stack.close());

const db = () => stack.stores.db;
async function balanceOf(id: string): Promise<number> {
  const doc = await db()
    .collection("users")
    .findOne({ _id: new ObjectId(id) });
  if (!doc) throw new Error("no such user");
  return (doc.wallet as { balance: number }).balance;
}
/** Deleted straight in MongoDB, as an operator or another service would. */
const deleteAccount = (id: string) =>
  db()
    .collection("users")
    .deleteOne({ _id: new ObjectId(id) });
const requestDeposit = async (token: string, amount: number) =>
  (
    await callJson(stack, "POST", "/api/v1/deposits/request", {
      token,
      body: { amount, senderName: "x" },
    })
  ).body.data.id as string;
const ledgerOf = async (kind: string, id: string) => {
  await settleDrains(stack.ctx);
  return (
    await db()
      .collection("ledger")
      .find({ opId: { $regex: `^${kind}:${id}:` } })
  )
    .map((e) => [e.opId, e.status, e.amount])
    .sort();
};

describe("live approvals", () => {
  test("deposit of a deleted user: 409 ACCOUNT_GONE, request rejected, admin's wallet unchanged", async () => {
    const u = await registerUser(stack);
    const id = await requestDeposit(u.token, 700);
    await deleteAccount(u.user.id);
    const before = await balanceOf(admin.id);
    const r = await callJson(stack, "PUT", `/api/v1/deposits/${id}/approve`, {
      token: admin.token,
    });
    expect(r.status).toBe(409);
    expect(r.body.error?.code).toBe("ACCOUNT_GONE");
    const d = await db()
      .collection("deposits")
      .findOne({ _id: new ObjectId(id) });
    expect(d).toMatchObject({ status: "rejected", rejectedCode: "ACCOUNT_GONE" });
    expect(await balanceOf(admin.id)).toBe(before);
    // The debit lands first and the credit's own update finds the account gone: the debit is
    // refunded once and the credit voided, nothing can land later.
    expect(await ledgerOf("deposit", id)).toEqual([
      [`deposit:${id}:credit`, "void", 700],
      [`deposit:${id}:debit`, "applied", -700],
      [`deposit:${id}:refund`, "applied", 700],
    ]);
    const reject = await callJson(stack, "PUT", `/api/v1/deposits/${id}/reject`, {
      token: admin.token,
    });
    expect(reject.body.error?.code).toBe("INVALID_STATE");
    await assertMoneyInvariants(stack, [admin.id]);
  });

  test("withdrawal of a deleted user: 409 ACCOUNT_GONE, nothing moved", async () => {
    const u = await registerUser(stack);
    await fund(stack, u.user.id, 500);
    const w = await callJson(stack, "POST", "/api/v1/withdrawals/request", {
      token: u.token,
      body: { amount: 500, destination: "IBAN" },
    });
    const id = w.body.data.id as string;
    await deleteAccount(u.user.id);
    const before = await balanceOf(admin.id);
    const r = await callJson(stack, "PUT", `/api/v1/withdrawals/${id}/approve`, {
      token: admin.token,
    });
    expect(r.body.error?.code).toBe("ACCOUNT_GONE");
    expect(await balanceOf(admin.id)).toBe(before);
    await assertMoneyInvariants(stack, [admin.id]);
  });

  test("the owner vanishes between the debit and the credit: the debit is refunded once", async () => {
    const u = await registerUser(stack);
    const id = await requestDeposit(u.token, 900);
    const before = await balanceOf(admin.id);
    faults.after = async (step, info) => {
      if (step === "debited" && info.requestId === id) await deleteAccount(u.user.id);
    };
    const r = await callJson(stack, "PUT", `/api/v1/deposits/${id}/approve`, {
      token: admin.token,
    });
    faults.after = undefined;
    expect(r.body.error?.code).toBe("ACCOUNT_GONE");
    expect(await balanceOf(admin.id)).toBe(before);
    expect(await ledgerOf("deposit", id)).toEqual([
      [`deposit:${id}:credit`, "void", 900],
      [`deposit:${id}:debit`, "applied", -900],
      [`deposit:${id}:refund`, "applied", 900],
    ]);
    await recoverWallet(stack.ctx, { graceMs: 0 }); // replaying changes nothing
    expect(await balanceOf(admin.id)).toBe(before);
    await assertMoneyInvariants(stack, [admin.id]);
  });
});

// Every durable step of a deposit approval (see crash.test.ts).
const STEPS: (BalanceStep | ApprovalStep)[] = [
  "claimed",
  "applied",
  "debited",
  "applied",
  "credited",
  "approved",
];
/** The background drain's steps run beside the request; they are crashed in their own tests. */
const DRAIN_STEPS = new Set<string>(["ledgered", "drained"]);
/**
 * From this step on the credit's drain has run (the test waits for the drains scheduled before
 * the crash, then deletes the owner): the credit is in the ledger, the money whole, approved. A
 * credit that landed but went with the deleted document before its drain (step 3) is refunded.
 */
const CREDIT_LANDED = 4;

describe("crash at any step, then the owner is deleted: recovery settles, never stuck", () => {
  for (const [n, step] of STEPS.entries()) {
    test(`crash after step ${n} (${step})`, async () => {
      const u = await registerUser(stack);
      const id = await requestDeposit(u.token, 321);
      const before = await balanceOf(admin.id);
      let seen = 0;
      faults.after = (step) => {
        if (DRAIN_STEPS.has(step)) return;
        if (seen++ === n) throw new Crash(`crash after step ${n}`);
      };
      const r = await stack.call("PUT", `/api/v1/deposits/${id}/approve`, { token: admin.token });
      faults.after = undefined;
      expect(r.status).toBe(500);
      await settleDrains(stack.ctx);
      await deleteAccount(u.user.id);

      await recoverWallet(stack.ctx, { graceMs: 0 });
      await recoverWallet(stack.ctx, { graceMs: 0 });

      const d = await db()
        .collection("deposits")
        .findOne({ _id: new ObjectId(id) });
      const refunds = await db()
        .collection("ledger")
        .find({ opId: `deposit:${id}:refund`, status: "applied" });
      expect(refunds.length).toBeLessThanOrEqual(1);
      if (n >= CREDIT_LANDED) {
        expect(d?.status).toBe("approved");
        expect(await balanceOf(admin.id)).toBe(before - 321);
      } else {
        expect(d).toMatchObject({ status: "rejected", rejectedCode: "ACCOUNT_GONE" });
        expect(await balanceOf(admin.id)).toBe(before);
      }
      await assertMoneyInvariants(stack, [admin.id]);
    }, 20_000);
  }

  test("a stalled approver resuming after recovery ended the request cannot debit", async () => {
    const u = await registerUser(stack);
    const id = await requestDeposit(u.token, 555);
    const before = await balanceOf(admin.id);
    faults.after = (step) => {
      if (step === "claimed") throw new Crash("stall after the claim");
    };
    await stack.call("PUT", `/api/v1/deposits/${id}/approve`, { token: admin.token });
    faults.after = undefined;
    await deleteAccount(u.user.id);
    await recoverWallet(stack.ctx, { graceMs: 0 });
    // What the stalled approver does next: its debit leg, under the leg's opId.
    await expect(
      stack.ctx.use("balance").apply(admin.id, -555, `deposit approval #${id} (admin deduction)`, {
        opId: `deposit:${id}:debit`,
      }),
    ).rejects.toMatchObject({ code: "OP_CANCELLED" });
    expect(await balanceOf(admin.id)).toBe(before);
    await assertMoneyInvariants(stack, [admin.id]);
  });
});

describe("the checks notice a missing protection", () => {
  test("without the account check (test only), a deleted user's deposit debits the admin and sticks in approving", async () => {
    const unchecked = await createTestStack({
      redis: stack.redis,
      mongo: stack.mongo,
      env: { ...ADMIN_ENV },
      plugins: defaultPlugins().map((p) =>
        p.name === "wallet" ? walletPlugin({ faults: { withoutAccountCheck: true } }) : p,
      ),
    });
    try {
      const adminToken = await loginAdmin(unchecked);
      const adminId = (await callJson(unchecked, "GET", "/api/v1/users/me", { token: adminToken }))
        .body.data.user.id as string;
      await fund(unchecked, adminId, 10_000);
      const u = await registerUser(unchecked);
      const dep = await callJson(unchecked, "POST", "/api/v1/deposits/request", {
        token: u.token,
        body: { amount: 700, senderName: "x" },
      });
      await unchecked.stores.db.collection("users").deleteOne({ _id: new ObjectId(u.user.id) });
      const r = await unchecked.call("PUT", `/api/v1/deposits/${dep.body.data.id}/approve`, {
        token: adminToken,
      });
      // What the live test asserts: 409 ACCOUNT_GONE, rejected, the admin's wallet unchanged.
      expect(r.status).not.toBe(409);
      const d = await unchecked.stores.db
        .collection("deposits")
        .findOne({ _id: new ObjectId(dep.body.data.id) });
      expect(d?.status).toBe("approving");
      const admin = await unchecked.stores.db
        .collection("users")
        .findOne({ _id: new ObjectId(adminId) });
      expect((admin?.wallet as { balance: number } | undefined)?.balance).toBe(10_000 - 700);
    } finally {
      await unchecked.close();
    }
  }, 20_000);
});
