import { createRoute, type z } from "@hono/zod-openapi";
import type { AuthService } from "../../../src/domain/auth";
import { errorResponse } from "../../../src/domain/schemas";
import { adminOnly, userOnly } from "../../auth/guards";
import { ObjectIdParam } from "../shared/pagination";
import {
  ApproveDepositBody,
  ApproveWithdrawalBody,
  DepositPage,
  DepositRequestBody,
  DepositResult,
  ListQuery,
  RejectBody,
  WithdrawalPage,
  WithdrawalRequestBody,
  WithdrawalResult,
} from "./schemas";

const json = <T>(schema: T) => ({ "application/json": { schema } });
const errors = {
  400: errorResponse("Invalid id, body or query"),
  401: errorResponse("No or invalid token"),
};
const adminErrors = {
  ...errors,
  403: errorResponse("Admin only"),
  404: errorResponse("Unknown request"),
  409: errorResponse("Not pending (INVALID_STATE) or insufficient funds (INSUFFICIENT_FUNDS)"),
};

/** What differs between the deposit and the withdrawal routes; the rest is one shape. */
interface KindSpec<
  P extends string,
  Result extends z.ZodType,
  Page extends z.ZodType,
  Create extends z.ZodType,
  Approve extends z.ZodType,
  CreateErrors extends Record<number, ReturnType<typeof errorResponse>>,
> {
  tag: string;
  /** Collection path and plural noun, e.g. "deposits". */
  plural: P;
  result: Result;
  page: Page;
  createBody: Create;
  createErrors: CreateErrors;
  approveBody: Approve;
  approveSummary: string;
}

/**
 * create / approve / reject / list for one request kind. Generic over the schemas, so each
 * kind's routes (and so its handlers' types) stay as concrete as if written out by hand.
 */
function requestRoutes<
  P extends string,
  Result extends z.ZodType,
  Page extends z.ZodType,
  Create extends z.ZodType,
  Approve extends z.ZodType,
  CreateErrors extends Record<number, ReturnType<typeof errorResponse>>,
>(auth: AuthService, k: KindSpec<P, Result, Page, Create, Approve, CreateErrors>) {
  const user = { tags: [k.tag], ...userOnly(auth) };
  const admin = { tags: [k.tag], ...adminOnly(auth) };
  return {
    create: createRoute({
      ...user,
      method: "post",
      path: `/${k.plural}/request` as `/${P}/request`,
      request: { body: { content: json(k.createBody), required: true } },
      responses: {
        201: { content: json(k.result), description: "Created, pending" },
        ...k.createErrors,
      },
    }),
    approve: createRoute({
      ...admin,
      method: "put",
      path: `/${k.plural}/{id}/approve` as `/${P}/{id}/approve`,
      summary: k.approveSummary,
      request: { params: ObjectIdParam, body: { content: json(k.approveBody), required: false } },
      responses: { 200: { content: json(k.result), description: "Approved" }, ...adminErrors },
    }),
    reject: createRoute({
      ...admin,
      method: "put",
      path: `/${k.plural}/{id}/reject` as `/${P}/{id}/reject`,
      request: { params: ObjectIdParam, body: { content: json(RejectBody), required: false } },
      responses: { 200: { content: json(k.result), description: "Rejected" }, ...adminErrors },
    }),
    list: createRoute({
      ...user,
      method: "get",
      path: `/${k.plural}` as `/${P}`,
      summary: `Own ${k.plural}, newest first (admins: everyone's)`,
      request: { query: ListQuery },
      responses: { 200: { content: json(k.page), description: "One page" }, ...errors },
    }),
  };
}

export const depositRoutes = (auth: AuthService) =>
  requestRoutes(auth, {
    tag: "Deposits",
    plural: "deposits",
    result: DepositResult,
    page: DepositPage,
    createBody: DepositRequestBody,
    createErrors: errors,
    approveBody: ApproveDepositBody,
    approveSummary: "Credit the user, debit the approving admin (exactly once)",
  });

export const withdrawalRoutes = (auth: AuthService) =>
  requestRoutes(auth, {
    tag: "Withdrawals",
    plural: "withdrawals",
    result: WithdrawalResult,
    page: WithdrawalPage,
    createBody: WithdrawalRequestBody,
    createErrors: { ...errors, 409: errorResponse("Insufficient funds") },
    approveBody: ApproveWithdrawalBody,
    approveSummary: "Debit the user, credit the approving admin (exactly once)",
  });
