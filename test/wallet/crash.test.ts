import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { defaultPlugins } from "../../app/plugins";
import {
  type ApprovalStep,
  type BalanceStep,
  drainUser,
  type Faults,
  recoverWallet,
  settleDrains,
  walletPlugin,
} from "../../plugins/features/wallet";
import { createTestStack, type TestStack } from "../support/stack";
import { ADMIN_ENV, callJson, loginAdmin, registerUser } from "../support/users";
import { assertMoneyInvariants, fund } from "./invariants";

class Crash extends Error {}

// Every durable step of an approval's request path, in the order they happen: the claim, the
// admin debit's one conditional update, the user credit's, then the final transitions.
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

/** Arms a crash at the n-th step (0-based) counted across the whole approval. */
function crashAt(n: number) {
  let seen = 0;
  faults.after = (step) => {
    if (DRAIN_STEPS.has(step)) return;
    if (seen++ === n) throw new Crash(`crash after step ${n}`);
  };
}

describe("crash injection during a deposit approval", () => {
  for (const [n, step] of STEPS.entries()) {
    test(`crash after step ${n} (${step}) → recovery pays exactly once`, async () => {
      const u = await registerUser(stack);
      const dep = await callJson(stack, "POST", "/api/v1/deposits/request", {
        token: u.token,
        body: { amount: 1234, senderName: "x" },
      });
      const id = dep.body.data.id as string;
      const adminBefore = (await stack.stores.db
        .collection("users")
        .findOne({ _id: new ObjectId(admin.id) }))!.wallet as { balance: number };
      crashAt(n);
      const r = await stack.call("PUT", `/api/v1/deposits/${id}/approve`, { token: admin.token });
      faults.after = undefined;
      expect(r.status).toBe(500);

      // A second approval while it is stuck mid-way cannot pay again.
      const retry = await stack.call("PUT", `/api/v1/deposits/${id}/approve`, {
        token: admin.token,
      });
      expect(retry.status).toBe(409);

      await recoverWallet(stack.ctx, { graceMs: 0 });
      // Recovery twice is harmless.
      await recoverWallet(stack.ctx, { graceMs: 0 });

      const d = await stack.stores.db.collection("deposits").findOne({ _id: new ObjectId(id) });
      expect(d?.status).toBe("approved");
      const credits = await stack.stores.db
        .collection("ledger")
        .find({ opId: { $regex: `^deposit:${id}:` } });
      expect(credits.map((e) => [e.opId, e.status, e.amount]).sort()).toEqual([
        [`deposit:${id}:credit`, "applied", 1234],
        [`deposit:${id}:debit`, "applied", -1234],
      ]);
      const user = await stack.ctx.use("cacheSync").getUserWithSync(u.user.id);
      expect(user?.wallet.balance).toBe(1234);
      const adminAfter = (await stack.stores.db
        .collection("users")
        .findOne({ _id: new ObjectId(admin.id) }))!.wallet as { balance: number };
      expect(adminAfter.balance).toBe(adminBefore.balance - 1234);
      await assertMoneyInvariants(stack, [u.user.id, admin.id]);
    });
  }
});

describe("crash in a bare balance op, recovered by a second instance on the same database", () => {
  for (const step of ["intent", "applied", "ledgered", "drained"] as const) {
    test(`crash after ${step}`, async () => {
      const u = await registerUser(stack);
      faults.after = (s) => {
        if (s === step) throw new Crash(step);
      };
      const first = stack.ctx
        .use("balance")
        .apply(u.user.id, 500, "crashy", { opId: `crashy:${u.user.id}` });
      if (DRAIN_STEPS.has(step)) {
        // The drain runs after the answer: the op is applied, its drain stops half-way.
        expect((await first).applied).toBe(true);
        await settleDrains(stack.ctx);
      } else await expect(first).rejects.toBeInstanceOf(Crash);
      faults.after = undefined;
      const second = await createTestStack({
        redis: stack.redis,
        mongo: stack.mongo,
        dbName: stack.dbName,
        env: { CACHE_PREFIX: stack.config.CACHE_PREFIX },
        plugins: defaultPlugins().map((p) =>
          p.name === "wallet" ? walletPlugin({ graceMs: 0 }) : p,
        ),
      });
      try {
        // onReady recovered it; a client retry of the same opId is a no-op.
        const again = await second.ctx
          .use("balance")
          .apply(u.user.id, 500, "crashy", { opId: `crashy:${u.user.id}` });
        expect(again.applied).toBe(false);
        expect(again.user.wallet.balance).toBe(500);
        await assertMoneyInvariants(second, [u.user.id]);
      } finally {
        await second.close();
      }
    });
  }

  for (const step of ["applied", "ledgered", "drained"] as const) {
    test(`a fresh op (no caller opId): crash after ${step}, recovery settles it once`, async () => {
      const u = await registerUser(stack);
      faults.after = (s) => {
        if (s === step) throw new Crash(step);
      };
      const first = stack.ctx.use("balance").apply(u.user.id, 300, "fresh");
      if (step === "applied") await expect(first).rejects.toBeInstanceOf(Crash);
      else expect((await first).applied).toBe(true);
      await settleDrains(stack.ctx);
      faults.after = undefined;
      await recoverWallet(stack.ctx, { graceMs: 0 });
      await recoverWallet(stack.ctx, { graceMs: 0 });
      const rows = await stack.stores.db
        .collection("ledger")
        .find({ userId: new ObjectId(u.user.id) });
      expect(rows.map((e) => [e.status, e.amount, e.balanceAfter])).toEqual([
        ["applied", 300, 300],
      ]);
      await assertMoneyInvariants(stack, [u.user.id]);
    });
  }
});

describe("crash in the background drain of an approval's legs", () => {
  for (const step of ["ledgered", "drained"] as const) {
    test(`every drain stops after ${step}: the approval stands, recovery ledgers each leg once`, async () => {
      const u = await registerUser(stack);
      const dep = await callJson(stack, "POST", "/api/v1/deposits/request", {
        token: u.token,
        body: { amount: 4321, senderName: "x" },
      });
      const id = dep.body.data.id as string;
      faults.after = (s) => {
        if (s === step) throw new Crash(step);
      };
      const r = await stack.call("PUT", `/api/v1/deposits/${id}/approve`, { token: admin.token });
      expect(r.status).toBe(200);
      await settleDrains(stack.ctx);
      faults.after = undefined;
      await recoverWallet(stack.ctx, { graceMs: 0 });
      await recoverWallet(stack.ctx, { graceMs: 0 });
      const rows = await stack.stores.db
        .collection("ledger")
        .find({ opId: { $regex: `^deposit:${id}:` } });
      expect(rows.map((e) => [e.opId, e.status, e.amount]).sort()).toEqual([
        [`deposit:${id}:credit`, "applied", 4321],
        [`deposit:${id}:debit`, "applied", -4321],
      ]);
      await assertMoneyInvariants(stack, [u.user.id, admin.id]);
    });
  }
});

describe("a drain meeting rows another drain already wrote", () => {
  test("ledgers the others once: the duplicates do not stop the batch", async () => {
    const u = await registerUser(stack);
    const balance = stack.ctx.use("balance");
    // Two ops whose drain stops after writing their rows: ledgered, still in the outbox.
    faults.after = (s) => {
      if (s === "ledgered") throw new Crash(s);
    };
    await balance.apply(u.user.id, 100, "first");
    await balance.apply(u.user.id, 200, "second");
    await settleDrains(stack.ctx);
    // A third that stops before its drain is queued: in the outbox, no row.
    faults.after = (s) => {
      if (s === "applied") throw new Crash(s);
    };
    await expect(balance.apply(u.user.id, 300, "third")).rejects.toBeInstanceOf(Crash);
    faults.after = undefined;
    expect(await drainUser(stack.ctx, new ObjectId(u.user.id))).toBe(3);
    const rows = await stack.stores.db
      .collection("ledger")
      .find({ userId: new ObjectId(u.user.id) });
    expect(rows.map((e) => [e.reason, e.status, e.balanceAfter]).sort()).toEqual([
      ["first", "applied", 100],
      ["second", "applied", 300],
      ["third", "applied", 600],
    ]);
    await assertMoneyInvariants(stack, [u.user.id]);
  });
});
