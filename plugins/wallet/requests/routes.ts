import { createRoute } from "@hono/zod-openapi";
import type { AuthService } from "../../../src/domain/auth";
import { errorResponse } from "../../auth/schemas";
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

// Written out per kind (not generic): createRoute's inference needs concrete schemas.
const guards = (auth: AuthService, tag: string) => ({
  user: { tags: [tag], security: [{ bearerAuth: [] }], middleware: [auth.requireUser] },
  admin: { tags: [tag], security: [{ bearerAuth: [] }], middleware: [auth.requireAdmin] },
});

export function depositRoutes(auth: AuthService) {
  const { user, admin } = guards(auth, "Deposits");
  return {
    create: createRoute({
      ...user,
      method: "post",
      path: "/deposits/request",
      request: { body: { content: json(DepositRequestBody), required: true } },
      responses: { 201: { content: json(DepositResult), description: "Created, pending" }, ...errors },
    }),
    approve: createRoute({
      ...admin,
      method: "put",
      path: "/deposits/{id}/approve",
      summary: "Credit the user, debit the approving admin (exactly once)",
      request: { params: ObjectIdParam, body: { content: json(ApproveDepositBody), required: false } },
      responses: { 200: { content: json(DepositResult), description: "Approved" }, ...adminErrors },
    }),
    reject: createRoute({
      ...admin,
      method: "put",
      path: "/deposits/{id}/reject",
      request: { params: ObjectIdParam, body: { content: json(RejectBody), required: false } },
      responses: { 200: { content: json(DepositResult), description: "Rejected" }, ...adminErrors },
    }),
    list: createRoute({
      ...user,
      method: "get",
      path: "/deposits",
      summary: "Own deposits, newest first (admins: everyone's)",
      request: { query: ListQuery },
      responses: { 200: { content: json(DepositPage), description: "One page" }, ...errors },
    }),
  };
}

export function withdrawalRoutes(auth: AuthService) {
  const { user, admin } = guards(auth, "Withdrawals");
  return {
    create: createRoute({
      ...user,
      method: "post",
      path: "/withdrawals/request",
      request: { body: { content: json(WithdrawalRequestBody), required: true } },
      responses: { 201: { content: json(WithdrawalResult), description: "Created, pending" }, ...errors, 409: errorResponse("Insufficient funds") },
    }),
    approve: createRoute({
      ...admin,
      method: "put",
      path: "/withdrawals/{id}/approve",
      summary: "Debit the user, credit the approving admin (exactly once)",
      request: { params: ObjectIdParam, body: { content: json(ApproveWithdrawalBody), required: false } },
      responses: { 200: { content: json(WithdrawalResult), description: "Approved" }, ...adminErrors },
    }),
    reject: createRoute({
      ...admin,
      method: "put",
      path: "/withdrawals/{id}/reject",
      request: { params: ObjectIdParam, body: { content: json(RejectBody), required: false } },
      responses: { 200: { content: json(WithdrawalResult), description: "Rejected" }, ...adminErrors },
    }),
    list: createRoute({
      ...user,
      method: "get",
      path: "/withdrawals",
      summary: "Own withdrawals, newest first (admins: everyone's)",
      request: { query: ListQuery },
      responses: { 200: { content: json(WithdrawalPage), description: "One page" }, ...errors },
    }),
  };
}
