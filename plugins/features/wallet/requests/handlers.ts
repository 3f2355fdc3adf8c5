import type { RouteHandler } from "@hono/zod-openapi";
import { ObjectId } from "bson";
import type { Context } from "hono";
import type { AppEnv } from "../../../../src/core/app-env";
import { appError, ok } from "../../../../src/core/errors";
import type { PluginContext } from "../../../../src/core/plugin";
import { toApiDoc } from "../../../../src/domain/api-doc";
import { currentUser } from "../../auth";
import { rawUsers } from "../../users";
import { balanceNotMigrated } from "../balance/steps";
import type { Faults } from "../shared/faults";
import { page } from "../shared/pagination";
import { approveRequest, rejectRequest, requests } from "./approve";
import { DEPOSIT, type MoneyRequest, type RequestKind, WITHDRAWAL } from "./kinds";
import type { depositRoutes, withdrawalRoutes } from "./routes";

type DR = ReturnType<typeof depositRoutes>;
type WR = ReturnType<typeof withdrawalRoutes>;

/** Claim and audit fields: who approved or rejected, the claim's bookkeeping. Admins only. */
const INTERNAL_FIELDS = new Set([
  "approvedBy",
  "approvedAmount",
  "approvingAt",
  "rejectedBy",
  "refundOpId",
]);

/**
 * The API shape of a request: ids as hex, dates ISO, the kind's own field (senderName /
 * destination) typed as the string it is. `audit` keeps the internal claim fields (admin views);
 * the requester's own views leave them out (an admin's id is nobody else's business).
 */
const view =
  <F extends string>(field: F, audit: boolean) =>
  (r: MoneyRequest) => {
    const d = toApiDoc(r, audit ? undefined : INTERNAL_FIELDS);
    return {
      ...d,
      userId: String(d.userId),
      amount: r.amount,
      status: r.status,
      createdAt: String(d.createdAt),
      updatedAt: String(d.updatedAt),
      ...({ [field]: String(r[field]) } as Record<F, string>),
    };
  };
const depositView = view("senderName", false);
const withdrawalView = view("destination", false);
const adminDepositView = view("senderName", true);
const adminWithdrawalView = view("destination", true);

/**
 * A new pending request of the caller's, within MAX_PENDING_REQUESTS per kind. The count is
 * re-taken after the insert over the requests ordered before this one, so concurrent requests
 * cannot all slip under the cap: whichever sees itself past it withdraws.
 */
async function insertRequest(
  ctx: PluginContext,
  kind: RequestKind,
  userId: string,
  fields: Record<string, unknown> & { amount: number },
) {
  const col = requests(ctx, kind);
  const owner = new ObjectId(userId);
  const limit = ctx.config.MAX_PENDING_REQUESTS;
  const tooMany = () =>
    appError(
      "TOO_MANY_PENDING_REQUESTS",
      `At most ${limit} pending ${kind.name} requests per user; wait until some are approved or rejected`,
      { limit },
    );
  if ((await col.countDocuments({ userId: owner, status: "pending" })) >= limit) throw tooMany();
  const now = new Date();
  const doc = await col.insertOne({
    userId: owner,
    ...fields,
    status: "pending",
    createdAt: now,
    updatedAt: now,
  });
  const upToMine = await col.countDocuments({
    userId: owner,
    status: "pending",
    _id: { $lte: doc._id },
  });
  if (upToMine > limit) {
    await col.deleteOne({ _id: doc._id, status: "pending" });
    throw tooMany();
  }
  return doc;
}

/** Approve / reject: the path id and the acting admin, both as ObjectIds. */
function target(c: Context<AppEnv>, id: string) {
  return { _id: new ObjectId(id), admin: new ObjectId(currentUser(c).id) };
}

/** One page of requests, newest first: the caller's own, or everyone's for an admin. */
function listPage(
  ctx: PluginContext,
  kind: RequestKind,
  c: Context<AppEnv>,
  q: { limit: number; cursor?: string; status?: string },
) {
  const me = currentUser(c);
  const filter = {
    ...(me.role === "admin" ? {} : { userId: new ObjectId(me.id) }),
    ...(q.status ? { status: q.status } : {}),
  };
  const col = requests(ctx, kind);
  return page((f, o) => col.find(f, o), filter, q);
}

export function requestDepositHandler(ctx: PluginContext): RouteHandler<DR["create"], AppEnv> {
  return async function requestDeposit(c) {
    const me = currentUser(c);
    const { amount, senderName, receiptImage } = c.req.valid("json");
    const doc = await insertRequest(ctx, DEPOSIT, me.id, {
      amount,
      senderName,
      receiptImage: receiptImage ?? null,
    });
    return c.json(ok(depositView(doc)), 201);
  };
}

export function requestWithdrawalHandler(ctx: PluginContext): RouteHandler<WR["create"], AppEnv> {
  return async function requestWithdrawal(c) {
    const me = currentUser(c);
    const { amount, destination } = c.req.valid("json");
    // Early, friendly refusal only: the guarded debit at approval is what prevents overdrafts
    // (several pending withdrawals may each fit the balance but not together). Read from
    // MongoDB: a money decision never rests on a cached (possibly tampered) balance.
    const user = await rawUsers(ctx).findOne(
      { _id: new ObjectId(me.id) },
      { projection: { wallet: 1 } },
    );
    if (!user) throw appError("USER_NOT_FOUND");
    const held: unknown = user.wallet?.balance;
    if (typeof held !== "number" || !Number.isSafeInteger(held))
      throw balanceNotMigrated(me.id, held);
    if (held < amount)
      throw appError(
        "INSUFFICIENT_FUNDS",
        `Insufficient funds: your balance is ${held}, the withdrawal asks for ${amount} (minor units)`,
        { balance: held, requested: amount },
      );
    const doc = await insertRequest(ctx, WITHDRAWAL, me.id, { amount, destination });
    return c.json(ok(withdrawalView(doc)), 201);
  };
}

export function approveDepositHandler(
  ctx: PluginContext,
  faults?: Faults,
): RouteHandler<DR["approve"], AppEnv> {
  return async function approveDeposit(c) {
    const { _id, admin } = target(c, c.req.valid("param").id);
    const body = c.req.valid("json") ?? {};
    return c.json(
      ok(adminDepositView(await approveRequest(ctx, DEPOSIT, _id, admin, body.amount, faults))),
      200,
    );
  };
}

export function approveWithdrawalHandler(
  ctx: PluginContext,
  faults?: Faults,
): RouteHandler<WR["approve"], AppEnv> {
  return async function approveWithdrawal(c) {
    const { _id, admin } = target(c, c.req.valid("param").id);
    return c.json(
      ok(adminWithdrawalView(await approveRequest(ctx, WITHDRAWAL, _id, admin, undefined, faults))),
      200,
    );
  };
}

export function rejectDepositHandler(ctx: PluginContext): RouteHandler<DR["reject"], AppEnv> {
  return async function rejectDeposit(c) {
    const { _id, admin } = target(c, c.req.valid("param").id);
    const body = c.req.valid("json") ?? {};
    return c.json(
      ok(adminDepositView(await rejectRequest(ctx, DEPOSIT, _id, admin, body.reason))),
      200,
    );
  };
}

export function rejectWithdrawalHandler(ctx: PluginContext): RouteHandler<WR["reject"], AppEnv> {
  return async function rejectWithdrawal(c) {
    const { _id, admin } = target(c, c.req.valid("param").id);
    const body = c.req.valid("json") ?? {};
    return c.json(
      ok(adminWithdrawalView(await rejectRequest(ctx, WITHDRAWAL, _id, admin, body.reason))),
      200,
    );
  };
}

export function listDepositsHandler(ctx: PluginContext): RouteHandler<DR["list"], AppEnv> {
  return async function listDeposits(c) {
    const p = await listPage(ctx, DEPOSIT, c, c.req.valid("query"));
    const v = currentUser(c).role === "admin" ? adminDepositView : depositView;
    return c.json(ok({ items: p.items.map(v), nextCursor: p.nextCursor }), 200);
  };
}

export function listWithdrawalsHandler(ctx: PluginContext): RouteHandler<WR["list"], AppEnv> {
  return async function listWithdrawals(c) {
    const p = await listPage(ctx, WITHDRAWAL, c, c.req.valid("query"));
    const v = currentUser(c).role === "admin" ? adminWithdrawalView : withdrawalView;
    return c.json(ok({ items: p.items.map(v), nextCursor: p.nextCursor }), 200);
  };
}
