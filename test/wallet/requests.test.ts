import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { settleDrains } from "../../plugins/features/wallet";
import { createTestStack, type TestStack } from "../support/stack";
import { ADMIN_ENV, callJson, loginAdmin, registerUser } from "../support/users";
import { assertMoneyInvariants, fund } from "./invariants";

let stack: TestStack;
let admin: { token: string; id: string };
beforeAll(async () => {
  stack = await createTestStack({ env: { ...ADMIN_ENV, MONGO_TIMEOUT_MS: 30_000 } });
  const token = await loginAdmin(stack);
  const me = await callJson(stack, "GET", "/api/v1/users/me", { token });
  admin = { token, id: me.body.data.user.id };
  await fund(stack, admin.id, 10_000_000);
});
afterAll(() => stack.close());

const requestDeposit = async (token: string, amount: number) => {
  const r = await callJson(stack, "POST", "/api/v1/deposits/request", {
    token,
    body: { amount, senderName: "Sender" },
  });
  expect(r.status).toBe(201);
  return r.body.data.id as string;
};

describe("deposits", () => {
  test("request → 201 pending with id; approve pays the user and debits the admin with the SPEC reasons", async () => {
    const u = await registerUser(stack);
    const r = await callJson(stack, "POST", "/api/v1/deposits/request", {
      token: u.token,
      body: { amount: 5000, senderName: "Ada", receiptImage: "https://r.example/1.png" },
    });
    expect(r.status).toBe(201);
    expect(r.body.data).toMatchObject({
      status: "pending",
      amount: 5000,
      senderName: "Ada",
      userId: u.user.id,
    });
    expect(r.body.data).not.toHaveProperty("_id");
    const id = r.body.data.id;
    const a = await callJson(stack, "PUT", `/api/v1/deposits/${id}/approve`, {
      token: admin.token,
    });
    expect(a.status).toBe(200);
    expect(a.body.data.status).toBe("approved");
    const ledger = await callJson(stack, "GET", "/api/v1/wallet/ledger", { token: u.token });
    expect(ledger.body.data.items).toEqual([
      expect.objectContaining({
        amount: 5000,
        balanceAfter: 5000,
        reason: `deposit approval #${id}`,
        opId: `deposit:${id}:credit`,
      }),
    ]);
    await settleDrains(stack.ctx); // the admin's row is written by the background drain
    const adminLedger = await stack.stores.db
      .collection("ledger")
      .findOne({ opId: `deposit:${id}:debit` });
    expect(adminLedger).toMatchObject({
      amount: -5000,
      reason: `deposit approval #${id} (admin deduction)`,
      status: "applied",
    });
    await assertMoneyInvariants(stack, [u.user.id, admin.id]);
  });

  test("approve with an adjusted amount; reject; approving twice or after reject is 409 INVALID_STATE", async () => {
    const u = await registerUser(stack);
    const id = await requestDeposit(u.token, 1000);
    const a = await callJson(stack, "PUT", `/api/v1/deposits/${id}/approve`, {
      token: admin.token,
      body: { amount: 900 },
    });
    expect(a.body.data).toMatchObject({ status: "approved", amount: 900 });
    expect(
      (await callJson(stack, "PUT", `/api/v1/deposits/${id}/approve`, { token: admin.token })).body
        .error?.code,
    ).toBe("INVALID_STATE");
    const id2 = await requestDeposit(u.token, 1000);
    const rj = await callJson(stack, "PUT", `/api/v1/deposits/${id2}/reject`, {
      token: admin.token,
      body: { reason: "no receipt" },
    });
    expect(rj.body.data).toMatchObject({ status: "rejected", rejectionReason: "no receipt" });
    const again = await callJson(stack, "PUT", `/api/v1/deposits/${id2}/approve`, {
      token: admin.token,
    });
    expect(again.status).toBe(409);
    expect(
      (await callJson(stack, "GET", "/api/v1/users/me", { token: u.token })).body.data.user.wallet
        .balance,
    ).toBe(900);
    await assertMoneyInvariants(stack, [u.user.id, admin.id]);
  });

  test("10 concurrent approvals of one deposit: one 200, nine 409, paid once", async () => {
    const u = await registerUser(stack);
    const id = await requestDeposit(u.token, 777);
    const started = performance.now();
    const statuses = await Promise.all(
      Array.from(
        { length: 10 },
        async () =>
          (await stack.call("PUT", `/api/v1/deposits/${id}/approve`, { token: admin.token }))
            .status,
      ),
    );
    console.log(
      `10 concurrent approvals of one deposit: ${(performance.now() - started).toFixed(0)} ms`,
    );
    expect(statuses.filter((s) => s === 200).length).toBe(1);
    expect(statuses.filter((s) => s === 409).length).toBe(9);
    await settleDrains(stack.ctx);
    expect(
      await stack.stores.db
        .collection("ledger")
        .countDocuments({ opId: { $regex: `^deposit:${id}:` } }),
    ).toBe(2);
    await assertMoneyInvariants(stack, [u.user.id, admin.id]);
    expect(
      (await callJson(stack, "GET", "/api/v1/users/me", { token: u.token })).body.data.user.wallet
        .balance,
    ).toBe(777);
  });

  // Generous bounds: on a loaded shared machine a timeout kills the suite's redis-server with it.
  test("50 concurrent approvals of distinct deposits sum exactly", async () => {
    const users = await Promise.all(Array.from({ length: 5 }, () => registerUser(stack)));
    const ids = await Promise.all(
      Array.from({ length: 50 }, (_, i) => requestDeposit(users[i % 5].token, 100 + i)),
    );
    const adminBefore = (await stack.ctx.use("cacheSync").getUserWithSync(admin.id))!.wallet
      .balance;
    const started = performance.now();
    const statuses = await Promise.all(
      ids.map(
        async (id) =>
          (await stack.call("PUT", `/api/v1/deposits/${id}/approve`, { token: admin.token }))
            .status,
      ),
    );
    console.log(
      `50 concurrent approvals of distinct deposits: ${(performance.now() - started).toFixed(0)} ms`,
    );
    expect(statuses.every((s) => s === 200)).toBe(true);
    const total = Array.from({ length: 50 }, (_, i) => 100 + i).reduce((a, b) => a + b, 0);
    const balances = await Promise.all(
      users.map(
        async (u) => (await stack.ctx.use("cacheSync").getUserWithSync(u.user.id))!.wallet.balance,
      ),
    );
    expect(balances.reduce((a, b) => a + b, 0)).toBe(total);
    expect((await stack.ctx.use("cacheSync").getUserWithSync(admin.id))!.wallet.balance).toBe(
      adminBefore - total,
    );
    await assertMoneyInvariants(stack, [...users.map((u) => u.user.id), admin.id]);
  }, 60_000);

  test("an admin who cannot cover the deposit: 409 INSUFFICIENT_FUNDS, request back to pending, nobody paid", async () => {
    const poorAdminEnv = { ADMIN_EMAIL: "poor@cachesync.test", ADMIN_PASSWORD: "poor-password-1" };
    const s = await createTestStack({ redis: stack.redis, mongo: stack.mongo, env: poorAdminEnv });
    try {
      const token = await loginAdmin(s, poorAdminEnv.ADMIN_EMAIL, poorAdminEnv.ADMIN_PASSWORD);
      const u = await registerUser(s);
      const dep = await callJson(s, "POST", "/api/v1/deposits/request", {
        token: u.token,
        body: { amount: 10, senderName: "x" },
      });
      const r = await callJson(s, "PUT", `/api/v1/deposits/${dep.body.data.id}/approve`, { token });
      expect(r.status).toBe(409);
      expect(r.body.error?.code).toBe("INSUFFICIENT_FUNDS");
      const doc = await s.stores.db
        .collection("deposits")
        .findOne({ _id: new ObjectId(dep.body.data.id) });
      expect(doc?.status).toBe("pending");
      expect(await s.stores.db.collection("ledger").countDocuments({})).toBe(0);
    } finally {
      await s.close();
    }
  });

  test("validation: amounts, ids, unknown ids, non-admin approval, unknown body keys", async () => {
    const u = await registerUser(stack);
    for (const amount of [-5, 0, 1.5, "10", null, 1e20, true, { $gt: 0 }]) {
      const r = await callJson(stack, "POST", "/api/v1/deposits/request", {
        token: u.token,
        body: { amount, senderName: "x" },
      });
      expect({ amount, status: r.status }).toEqual({ amount, status: 400 });
      const w = await callJson(stack, "POST", "/api/v1/withdrawals/request", {
        token: u.token,
        body: { amount, destination: "x" },
      });
      expect({ amount, status: w.status }).toEqual({ amount, status: 400 });
    }
    expect(
      (
        await stack.call("POST", "/api/v1/deposits/request", {
          token: u.token,
          body: { amount: 5, senderName: "x", status: "approved" },
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await stack.call("POST", "/api/v1/deposits/request", {
          body: { amount: 5, senderName: "x" },
        })
      ).status,
    ).toBe(401);
    const id = await requestDeposit(u.token, 5);
    expect(
      (await stack.call("PUT", `/api/v1/deposits/${id}/approve`, { token: u.token })).status,
    ).toBe(403);
    expect(
      (await stack.call("PUT", "/api/v1/deposits/nope/approve", { token: admin.token })).status,
    ).toBe(400);
    expect(
      (
        await stack.call("PUT", `/api/v1/deposits/${new ObjectId().toHexString()}/approve`, {
          token: admin.token,
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await stack.call("PUT", `/api/v1/deposits/${id}/approve`, {
          token: admin.token,
          body: { amount: 0 },
        })
      ).status,
    ).toBe(400);
    expect((await stack.call("GET", "/api/v1/deposits?limit=0", { token: u.token })).status).toBe(
      400,
    );
    expect((await stack.call("GET", "/api/v1/deposits?limit=101", { token: u.token })).status).toBe(
      400,
    );
    expect(
      (await stack.call("GET", "/api/v1/deposits?status=bogus", { token: u.token })).status,
    ).toBe(400);
    expect(
      (await stack.call("GET", "/api/v1/deposits?cursor=%24ne", { token: u.token })).status,
    ).toBe(400);
  });

  test("lists: own only for users, everyone for admins, status filter, cursor pages with nextCursor null at the end", async () => {
    const u = await registerUser(stack);
    const other = await registerUser(stack);
    const mine = [];
    for (let i = 0; i < 5; i++) mine.push(await requestDeposit(u.token, 10 + i));
    await requestDeposit(other.token, 99);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = `/api/v1/deposits?limit=2${cursor ? `&cursor=${cursor}` : ""}`;
      const r = await callJson(stack, "GET", q, { token: u.token });
      expect(r.status).toBe(200);
      seen.push(...r.body.data.items.map((d: { id: string }) => d.id));
      cursor = r.body.data.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...mine].reverse());
    const adminView = await callJson(stack, "GET", "/api/v1/deposits?limit=100&status=pending", {
      token: admin.token,
    });
    const ids = adminView.body.data.items.map((d: { id: string }) => d.id);
    expect(ids).toEqual(expect.arrayContaining(mine));
    expect(adminView.body.data.items.every((d: { status: string }) => d.status === "pending")).toBe(
      true,
    );
    expect(
      adminView.body.data.items.some((d: { userId: string }) => d.userId === other.user.id),
    ).toBe(true);
  });
});

describe("withdrawals", () => {
  test("request beyond the balance is 409; approve debits the user and credits the admin", async () => {
    const u = await registerUser(stack);
    await fund(stack, u.user.id, 1000);
    expect(
      (
        await stack.call("POST", "/api/v1/withdrawals/request", {
          token: u.token,
          body: { amount: 1001, destination: "IBAN" },
        })
      ).status,
    ).toBe(409);
    const w = await callJson(stack, "POST", "/api/v1/withdrawals/request", {
      token: u.token,
      body: { amount: 600, destination: "IBAN" },
    });
    expect(w.status).toBe(201);
    expect(w.body.data).toMatchObject({ status: "pending", amount: 600, destination: "IBAN" });
    const a = await callJson(stack, "PUT", `/api/v1/withdrawals/${w.body.data.id}/approve`, {
      token: admin.token,
    });
    expect(a.status).toBe(200);
    expect(a.body.data.status).toBe("approved");
    expect((await stack.ctx.use("cacheSync").getUserWithSync(u.user.id))!.wallet.balance).toBe(400);
    await assertMoneyInvariants(stack, [u.user.id, admin.id]);
    const list = await callJson(stack, "GET", "/api/v1/withdrawals?status=approved", {
      token: u.token,
    });
    expect(list.body.data.items.map((x: { id: string }) => x.id)).toEqual([w.body.data.id]);
  });

  test("concurrent approvals of withdrawals that together exceed the balance never overdraw", async () => {
    const u = await registerUser(stack);
    await fund(stack, u.user.id, 1000);
    const ids: string[] = [];
    // Each fits the balance at request time; together they are 3x it.
    for (let i = 0; i < 10; i++) {
      const w = await callJson(stack, "POST", "/api/v1/withdrawals/request", {
        token: u.token,
        body: { amount: 300, destination: "IBAN" },
      });
      ids.push(w.body.data.id);
    }
    const statuses = await Promise.all(
      ids.map(
        async (id) =>
          (await stack.call("PUT", `/api/v1/withdrawals/${id}/approve`, { token: admin.token }))
            .status,
      ),
    );
    expect(statuses.filter((s) => s === 200).length).toBe(3);
    expect(statuses.filter((s) => s === 409).length).toBe(7);
    expect((await stack.ctx.use("cacheSync").getUserWithSync(u.user.id))!.wallet.balance).toBe(100);
    expect(
      await stack.stores.db
        .collection("withdrawals")
        .countDocuments({ userId: new ObjectId(u.user.id), status: "pending" }),
    ).toBe(7);
    await assertMoneyInvariants(stack, [u.user.id, admin.id]);
  }, 60_000);

  test("reject", async () => {
    const u = await registerUser(stack);
    await fund(stack, u.user.id, 50);
    const w = await callJson(stack, "POST", "/api/v1/withdrawals/request", {
      token: u.token,
      body: { amount: 50, destination: "IBAN" },
    });
    const r = await callJson(stack, "PUT", `/api/v1/withdrawals/${w.body.data.id}/reject`, {
      token: admin.token,
    });
    expect(r.body.data.status).toBe("rejected");
    expect(
      (
        await stack.call("PUT", `/api/v1/withdrawals/${w.body.data.id}/approve`, {
          token: admin.token,
        })
      ).status,
    ).toBe(409);
    await assertMoneyInvariants(stack, [u.user.id]);
  });
});

describe("admin float", () => {
  test("ADMIN_INITIAL_BALANCE is credited once through the ledger, however many instances start", async () => {
    const env = { ...ADMIN_ENV, ADMIN_INITIAL_BALANCE: 50_000 };
    const a = await createTestStack({ env });
    try {
      const b = await createTestStack({
        env: { ...env, CACHE_PREFIX: a.config.CACHE_PREFIX },
        redis: a.redis,
        mongo: a.mongo,
        dbName: a.dbName,
      });
      await b.close();
      const token = await loginAdmin(a);
      const me = await callJson(a, "GET", "/api/v1/users/me", { token });
      expect(me.body.data.user.wallet.balance).toBe(50_000);
      const adminId = me.body.data.user.id as string;
      await assertMoneyInvariants(a, [adminId]);
    } finally {
      await a.close();
    }
  });
});
