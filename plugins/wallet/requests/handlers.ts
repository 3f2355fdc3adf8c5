import type { RouteHandler } from "@hono/zod-openapi";
import { ObjectId } from "bson";
import type { AppEnv } from "../../../src/core/app-env";
import { ok } from "../../../src/core/errors";
import type { PluginContext } from "../../../src/core/plugin";
import { currentUser } from "../../auth/middleware";
import { toApiDoc } from "../../profile/to-api";
import { insufficientFunds } from "../balance/steps";
import type { Faults } from "../shared/faults";
import { page } from "../shared/pagination";
import { approveRequest, rejectRequest, requests } from "./approve";
import { DEPOSIT, type MoneyRequest, WITHDRAWAL } from "./kinds";
import type { depositRoutes, withdrawalRoutes } from "./routes";

type DR = ReturnType<typeof depositRoutes>;
type WR = ReturnType<typeof withdrawalRoutes>;

/** The API shape of a request: ids as hex, dates ISO, internal claim fields kept for audit. */
const toApi = (r: MoneyRequest) => {
  const d = toApiDoc(r);
  return { ...d, userId: String(d.userId), amount: r.amount, status: r.status, createdAt: String(d.createdAt), updatedAt: String(d.updatedAt) };
};

export function requestDepositHandler(ctx: PluginContext): RouteHandler<DR["create"], AppEnv> {
  return async function requestDeposit(c) {
    const me = currentUser(c);
    const body = c.req.valid("json");
    const now = new Date();
    const doc = await requests(ctx, DEPOSIT).insertOne({
      userId: new ObjectId(me.id),
      amount: body.amount,
      senderName: body.senderName,
      receiptImage: body.receiptImage ?? null,
      status: "pending",
      createdAt: now,
      updatedAt: now,
    });
    return c.json(ok({ ...toApi(doc), senderName: body.senderName }), 201);
  };
}

export function requestWithdrawalHandler(ctx: PluginContext): RouteHandler<WR["create"], AppEnv> {
  return async function requestWithdrawal(c) {
    const me = currentUser(c);
    const body = c.req.valid("json");
    // Early, friendly refusal only: the guarded debit at approval is what prevents overdrafts
    // (several pending withdrawals may each fit the balance but not together).
    const user = await ctx.use("cacheSync").getUserWithSync(me.id);
    if (!user || user.wallet.balance < body.amount) throw insufficientFunds();
    const now = new Date();
    const doc = await requests(ctx, WITHDRAWAL).insertOne({
      userId: new ObjectId(me.id),
      amount: body.amount,
      destination: body.destination,
      status: "pending",
      createdAt: now,
      updatedAt: now,
    });
    return c.json(ok({ ...toApi(doc), destination: body.destination }), 201);
  };
}

export function approveDepositHandler(ctx: PluginContext, faults?: Faults): RouteHandler<DR["approve"], AppEnv> {
  return async function approveDeposit(c) {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json") ?? {};
    const admin = new ObjectId(currentUser(c).id);
    const done = await approveRequest(ctx, DEPOSIT, new ObjectId(id), admin, body.amount, faults);
    return c.json(ok({ ...toApi(done), senderName: String(done.senderName) }), 200);
  };
}

export function approveWithdrawalHandler(ctx: PluginContext, faults?: Faults): RouteHandler<WR["approve"], AppEnv> {
  return async function approveWithdrawal(c) {
    const { id } = c.req.valid("param");
    const admin = new ObjectId(currentUser(c).id);
    const done = await approveRequest(ctx, WITHDRAWAL, new ObjectId(id), admin, undefined, faults);
    return c.json(ok({ ...toApi(done), destination: String(done.destination) }), 200);
  };
}

export function rejectDepositHandler(ctx: PluginContext): RouteHandler<DR["reject"], AppEnv> {
  return async function rejectDeposit(c) {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json") ?? {};
    const done = await rejectRequest(ctx, DEPOSIT, new ObjectId(id), new ObjectId(currentUser(c).id), body.reason);
    return c.json(ok({ ...toApi(done), senderName: String(done.senderName) }), 200);
  };
}

export function rejectWithdrawalHandler(ctx: PluginContext): RouteHandler<WR["reject"], AppEnv> {
  return async function rejectWithdrawal(c) {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json") ?? {};
    const done = await rejectRequest(ctx, WITHDRAWAL, new ObjectId(id), new ObjectId(currentUser(c).id), body.reason);
    return c.json(ok({ ...toApi(done), destination: String(done.destination) }), 200);
  };
}

function listFilter(c: { var: { user?: { id: string; role: string } } }, status?: string) {
  const me = c.var.user;
  return {
    ...(me?.role === "admin" ? {} : { userId: new ObjectId(me?.id) }),
    ...(status ? { status } : {}),
  };
}

export function listDepositsHandler(ctx: PluginContext): RouteHandler<DR["list"], AppEnv> {
  return async function listDeposits(c) {
    currentUser(c);
    const q = c.req.valid("query");
    const col = requests(ctx, DEPOSIT);
    const p = await page((f, o) => col.find(f, o), listFilter(c, q.status), q);
    return c.json(ok({ items: p.items.map((r) => ({ ...toApi(r), senderName: String(r.senderName) })), nextCursor: p.nextCursor }), 200);
  };
}

export function listWithdrawalsHandler(ctx: PluginContext): RouteHandler<WR["list"], AppEnv> {
  return async function listWithdrawals(c) {
    currentUser(c);
    const q = c.req.valid("query");
    const col = requests(ctx, WITHDRAWAL);
    const p = await page((f, o) => col.find(f, o), listFilter(c, q.status), q);
    return c.json(ok({ items: p.items.map((r) => ({ ...toApi(r), destination: String(r.destination) })), nextCursor: p.nextCursor }), 200);
  };
}
