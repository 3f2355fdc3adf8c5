import { createRoute, type z } from "@hono/zod-openapi";
import {
  errorResponses,
  JSON_BODY_ERRORS,
  jsonBody,
  jsonResponse,
  OPTIONAL_JSON_BODY_ERRORS,
  STORE_ERRORS,
} from "../../../../src/core/api-route";
import type { ErrorCode } from "../../../../src/core/errors";
import type { AuthService } from "../../auth";
import { ADMIN_ERRORS, adminOnly, USER_ERRORS, userOnly } from "../../auth";
import { optionalJsonBody } from "../shared/optional-body";
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

/** What differs between the deposit and the withdrawal routes; the rest is one shape. */
interface KindSpec<
  P extends string,
  N extends string,
  Result extends z.ZodType,
  Page extends z.ZodType,
  Create extends z.ZodType,
  Approve extends z.ZodType,
  CreateErrors extends readonly ErrorCode[],
  ApproveErrors extends readonly ErrorCode[],
> {
  tag: string;
  /** Collection path and plural noun, e.g. "deposits". */
  plural: P;
  /** Singular noun for operation ids, e.g. "Deposit" (requestDeposit, approveDeposit…). */
  noun: N;
  result: Result;
  page: Page;
  createBody: Create;
  createExample: z.input<Create>;
  /** Catalogue errors of the create route beyond body, auth and store errors. */
  createErrors: CreateErrors;
  createDescription: string;
  approveBody: Approve;
  approveExample: z.input<Approve>;
  /** Catalogue errors of the approve route beyond the common ones. */
  approveErrors: ApproveErrors;
  approveSummary: string;
  approveDescription: string;
}

/** The money legs' errors: the same for both kinds (either leg may be the short or gone one). */
const APPROVE_ERRORS = [
  "INSUFFICIENT_FUNDS",
  "BALANCE_NOT_MIGRATED",
  "ACCOUNT_GONE",
  "OP_IN_PROGRESS",
  "BALANCE_CONTENDED",
  "BALANCE_DEFERRED",
] as const;

/** What approve and reject answer besides their own errors. */
const DECIDE_ERRORS = [
  ...OPTIONAL_JSON_BODY_ERRORS,
  ...ADMIN_ERRORS,
  "REQUEST_NOT_FOUND",
  "INVALID_STATE",
  ...STORE_ERRORS,
] as const;

/**
 * create / approve / reject / list for one request kind. Generic over the schemas, so each
 * kind's routes (and so its handlers' types) stay as concrete as if written out by hand.
 */
function requestRoutes<
  P extends string,
  N extends string,
  Result extends z.ZodType,
  Page extends z.ZodType,
  Create extends z.ZodType,
  Approve extends z.ZodType,
  CreateErrors extends readonly ErrorCode[],
  ApproveErrors extends readonly ErrorCode[],
>(
  auth: AuthService,
  k: KindSpec<P, N, Result, Page, Create, Approve, CreateErrors, ApproveErrors>,
) {
  const user = { tags: [k.tag], ...userOnly(auth) };
  const admin = { tags: [k.tag], ...adminOnly(auth) };
  const singular = k.noun.toLowerCase();
  return {
    create: createRoute({
      ...user,
      method: "post",
      path: `/${k.plural}/request` as `/${P}/request`,
      operationId: `request${k.noun}` as `request${N}`,
      summary: `Request a ${singular}`,
      description: k.createDescription,
      request: { body: jsonBody(k.createBody, k.createExample) },
      responses: {
        201: jsonResponse(k.result, "Created, pending"),
        ...errorResponses(...JSON_BODY_ERRORS, ...USER_ERRORS, ...k.createErrors, ...STORE_ERRORS),
      },
    }),
    approve: createRoute({
      ...admin,
      middleware: [...admin.middleware, optionalJsonBody],
      method: "put",
      path: `/${k.plural}/{id}/approve` as `/${P}/{id}/approve`,
      operationId: `approve${k.noun}` as `approve${N}`,
      summary: k.approveSummary,
      description: k.approveDescription,
      request: { params: ObjectIdParam, body: jsonBody(k.approveBody, k.approveExample, false) },
      responses: {
        200: jsonResponse(k.result, "Approved"),
        ...errorResponses(...DECIDE_ERRORS, ...k.approveErrors),
      },
    }),
    reject: createRoute({
      ...admin,
      middleware: [...admin.middleware, optionalJsonBody],
      method: "put",
      path: `/${k.plural}/{id}/reject` as `/${P}/{id}/reject`,
      operationId: `reject${k.noun}` as `reject${N}`,
      summary: `Reject a pending ${singular} (admin)`,
      description: `Marks a pending ${singular} request rejected, with an optional reason. No money moves. A request that is not pending answers 409 \`INVALID_STATE\`.`,
      request: {
        params: ObjectIdParam,
        body: jsonBody(RejectBody, { reason: "Receipt does not match" }, false),
      },
      responses: {
        200: jsonResponse(k.result, "Rejected"),
        ...errorResponses(...DECIDE_ERRORS),
      },
    }),
    list: createRoute({
      ...user,
      method: "get",
      path: `/${k.plural}` as `/${P}`,
      operationId: `list${k.noun}s` as `list${N}s`,
      summary: `List ${k.plural}`,
      description: `The caller's ${k.plural}, newest first (admins: everyone's), optionally filtered by status. Cursor-paginated: pass \`nextCursor\` back as \`cursor\` until it is null.`,
      request: { query: ListQuery },
      responses: {
        200: jsonResponse(k.page, "One page"),
        ...errorResponses("VALIDATION_ERROR", "INVALID_CURSOR", ...USER_ERRORS, ...STORE_ERRORS),
      },
    }),
  };
}

export const depositRoutes = (auth: AuthService) =>
  requestRoutes(auth, {
    tag: "Deposits",
    plural: "deposits",
    noun: "Deposit",
    result: DepositResult,
    page: DepositPage,
    createBody: DepositRequestBody,
    createExample: { amount: 2500, senderName: "Ada Lovelace" },
    createErrors: ["TOO_MANY_PENDING_REQUESTS"],
    createDescription:
      "Asks an admin to credit `amount` (integer minor units) to the caller's wallet. The request stays pending until an admin approves or rejects it. At most `MAX_PENDING_REQUESTS` pending deposits per user (409 `TOO_MANY_PENDING_REQUESTS`).",
    approveBody: ApproveDepositBody,
    approveExample: { amount: 2500 },
    approveErrors: APPROVE_ERRORS,
    approveSummary: "Approve a pending deposit (admin)",
    approveDescription:
      "Credits the user `+amount` (the request's, or a corrected `amount`) and debits the approving admin's wallet, exactly once, each leg ledgered (`deposit approval #<id>`). 409 `INSUFFICIENT_FUNDS` when the admin's float cannot cover it (the message names the wallet and how to fund it: `ADMIN_INITIAL_BALANCE` or `POST /wallet/admin/top-up`). 409 `ACCOUNT_GONE` when the user no longer exists: the request ends rejected and no money moves.",
  });

export const withdrawalRoutes = (auth: AuthService) =>
  requestRoutes(auth, {
    tag: "Withdrawals",
    plural: "withdrawals",
    noun: "Withdrawal",
    result: WithdrawalResult,
    page: WithdrawalPage,
    createBody: WithdrawalRequestBody,
    createExample: { amount: 1000, destination: "IBAN DE89 3704 0044 0532 0130 00" },
    createErrors: [
      "INSUFFICIENT_FUNDS",
      "BALANCE_NOT_MIGRATED",
      "TOO_MANY_PENDING_REQUESTS",
      "USER_NOT_FOUND",
    ],
    createDescription:
      "Asks an admin to pay `amount` (integer minor units) out of the caller's wallet to `destination`. Refused with 409 `INSUFFICIENT_FUNDS` when the balance (read from MongoDB) cannot cover it; the debit itself happens at approval. At most `MAX_PENDING_REQUESTS` pending withdrawals per user.",
    approveBody: ApproveWithdrawalBody,
    approveExample: {},
    approveErrors: APPROVE_ERRORS,
    approveSummary: "Approve a pending withdrawal (admin)",
    approveDescription:
      "Debits the user and credits the approving admin's wallet, exactly once, each leg ledgered. 409 `INSUFFICIENT_FUNDS` when the user's balance no longer covers it (the request goes back to pending). 409 `ACCOUNT_GONE` when the user no longer exists: the request ends rejected and no money moves.",
  });
