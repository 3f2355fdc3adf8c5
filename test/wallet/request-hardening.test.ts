import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { createTestStack, type TestStack } from "../support/stack";
import { ADMIN_ENV, callJson, loginAdmin, registerUser } from "../support/users";
import { assertMoneyInvariants, fund } from "./invariants";

/** SPEC §8 money-request points: pending cap, what requesters see, operator-friendly refusals. */
let stack: TestStack;
let admin: { token: string; id: string };
beforeAll(async () => {
  stack = await createTestStack({ env: { ...ADMIN_ENV, MAX_PENDING_REQUESTS: 3 } });
  admin = { token: await loginAdmin(stack), id: "" };
  admin.id = (
    await callJson(stack, "GET", "/api/v1/users/me", { token: admin.token })
  ).body.data.user.id;
});
afterAll(() => stack.close());

const deposit = (token: string, amount = 100) =>
  callJson(stack, "POST", "/api/v1/deposits/request", {
    token,
    body: { amount, senderName: "S" },
  });
async function adminBalance(): Promise<number> {
  const doc = await stack.stores.db.collection("users").findOne({ _id: new ObjectId(admin.id) });
  if (!doc) throw new Error("no such user");
  return (doc.wallet as { balance: number }).balance;
}

describe("pending requests are capped (MAX_PENDING_REQUESTS)", () => {
  test("the request past the cap is 409 TOO_MANY_PENDING_REQUESTS; a settled one frees a slot", async () => {
    const u = await registerUser(stack);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await deposit(u.token)).body.data.id);
    const over = await deposit(u.token);
    expect(over.status).toBe(409);
    expect(over.body.error?.code).toBe("TOO_MANY_PENDING_REQUESTS");
    expect(over.body.error?.details).toEqual({ limit: 3 });
    await stack.call("PUT", `/api/v1/deposits/${ids[0]}/reject`, { token: admin.token });
    expect((await deposit(u.token)).status).toBe(201);
    // Per kind: withdrawals have their own allowance.
    await fund(stack, u.user.id, 1000);
    const w = await callJson(stack, "POST", "/api/v1/withdrawals/request", {
      token: u.token,
      body: { amount: 10, destination: "IBAN" },
    });
    expect(w.status).toBe(201);
  });

  test("a concurrent burst never leaves more than the cap pending", async () => {
    const u = await registerUser(stack);
    const statuses = await Promise.all(
      Array.from({ length: 12 }, async () => (await deposit(u.token)).status),
    );
    expect(statuses.filter((s) => s === 201).length).toBeLessThanOrEqual(3);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    const pending = await stack.stores.db
      .collection("deposits")
      .countDocuments({ userId: new ObjectId(u.user.id), status: "pending" });
    expect(pending).toBeLessThanOrEqual(3);
    expect(pending).toBe(statuses.filter((s) => s === 201).length);
  });
});

describe("operators", () => {
  test("a deposit approval the admin's float cannot cover says whose wallet lacks what, and how to fund it", async () => {
    const u = await registerUser(stack);
    const id = (await deposit(u.token, 2500)).body.data.id;
    const before = await adminBalance();
    const r = await callJson(stack, "PUT", `/api/v1/deposits/${id}/approve`, {
      token: admin.token,
    });
    expect(r.status).toBe(409);
    expect(r.body.error?.code).toBe("INSUFFICIENT_FUNDS");
    expect(r.body.error?.message).toContain("approving admin's wallet");
    expect(r.body.error?.message).toContain("ADMIN_INITIAL_BALANCE");
    expect(r.body.error?.message).toContain("/api/v1/wallet/admin/top-up");
    expect(r.body.error?.details).toMatchObject({
      wallet: "admin",
      userId: admin.id,
      balance: before,
      required: 2500,
    });
  });

  test("admin top-up: ledgered, exactly once per idempotency key, admin only", async () => {
    const before = await adminBalance();
    const body = { amount: 50_000, idempotencyKey: `float-${crypto.randomUUID()}` };
    const first = await callJson(stack, "POST", "/api/v1/wallet/admin/top-up", {
      token: admin.token,
      body,
    });
    expect(first.status).toBe(200);
    expect(first.body.data).toMatchObject({ applied: true, balance: before + 50_000 });
    const retries = await Promise.all(
      Array.from({ length: 5 }, () =>
        callJson(stack, "POST", "/api/v1/wallet/admin/top-up", { token: admin.token, body }),
      ),
    );
    for (const r of retries) expect(r.body.data).toMatchObject({ applied: false });
    expect(await adminBalance()).toBe(before + 50_000);
    const reused = await callJson(stack, "POST", "/api/v1/wallet/admin/top-up", {
      token: admin.token,
      body: { ...body, amount: 1 },
    });
    expect(reused.body.error?.code).toBe("OP_ID_REUSED");
    const u = await registerUser(stack);
    const userTry = await stack.call("POST", "/api/v1/wallet/admin/top-up", {
      token: u.token,
      body: { amount: 1, idempotencyKey: "user-tries-it" },
    });
    expect(userTry.status).toBe(403);
    for (const bad of [
      { amount: 0, idempotencyKey: "valid-key-1" },
      { amount: 10, idempotencyKey: "short" },
      { amount: 10 },
    ]) {
      const r = await stack.call("POST", "/api/v1/wallet/admin/top-up", {
        token: admin.token,
        body: bad,
      });
      expect(r.status).toBe(400);
    }
    await assertMoneyInvariants(stack, [admin.id]);
  });

  test("approve and reject take content-type: application/json with an empty body", async () => {
    await fund(stack, admin.id, 1000);
    const u = await registerUser(stack);
    const a = (await deposit(u.token, 100)).body.data.id;
    const b = (await deposit(u.token, 100)).body.data.id;
    const headers = { "content-type": "application/json" };
    const approved = await stack.app.request(`/api/v1/deposits/${a}/approve`, {
      method: "PUT",
      headers: { ...headers, authorization: `Bearer ${admin.token}` },
      body: "",
    });
    expect(approved.status).toBe(200);
    const rejected = await stack.app.request(`/api/v1/deposits/${b}/reject`, {
      method: "PUT",
      headers: { ...headers, authorization: `Bearer ${admin.token}` },
    });
    expect(rejected.status).toBe(200);
    // A present body is still validated.
    const c = (await deposit(u.token, 100)).body.data.id;
    const bad = await stack.call("PUT", `/api/v1/deposits/${c}/approve`, {
      token: admin.token,
      body: "{not json",
    });
    expect(bad.status).toBe(400);
  });
});

describe("what a requester sees", () => {
  test("own lists and responses carry no internal claim fields; the admin's view keeps them", async () => {
    await fund(stack, admin.id, 1000);
    const u = await registerUser(stack);
    const id = (await deposit(u.token, 100)).body.data.id;
    const approved = await callJson(stack, "PUT", `/api/v1/deposits/${id}/approve`, {
      token: admin.token,
    });
    expect(approved.body.data.approvedBy).toBe(admin.id);
    const mine = await callJson(stack, "GET", "/api/v1/deposits", { token: u.token });
    const item = mine.body.data.items.find((d: { id: string }) => d.id === id);
    expect(item).toMatchObject({ status: "approved", amount: 100 });
    for (const field of ["approvedBy", "approvedAmount", "approvingAt", "rejectedBy"])
      expect(item).not.toHaveProperty(field);
    expect(JSON.stringify(mine.body)).not.toContain(admin.id);
    const all = await callJson(stack, "GET", "/api/v1/deposits", { token: admin.token });
    expect(all.body.data.items.find((d: { id: string }) => d.id === id).approvedBy).toBe(admin.id);
  });
});
