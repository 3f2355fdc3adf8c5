import { createRoute, z } from "@hono/zod-openapi";
import {
  errorResponses,
  JSON_BODY_ERRORS,
  jsonBody,
  jsonResponse,
  STORE_ERRORS,
} from "../../../../src/core/api-route";
import { envelope } from "../../../../src/domain/schemas";
import type { AuthService } from "../../auth";
import { ADMIN_ERRORS, adminOnly } from "../../auth";
import { Amount } from "../shared/amount";

export const TopUpBody = z
  .strictObject({
    amount: Amount,
    idempotencyKey: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{8,100}$/, "8-100 letters, digits or _ . : -")
      .openapi({
        description: "Chosen by the caller (e.g. a UUID); a retry with the same key pays once",
      }),
  })
  .openapi("AdminTopUpRequest");

export const TopUpResult = envelope(
  z.object({
    opId: z.string(),
    applied: z
      .boolean()
      .openapi({ description: "false: this key had already been applied, nothing changed" }),
    balance: z.number().int().openapi({ description: "The admin's balance after the top-up" }),
  }),
).openapi("AdminTopUpResult");

export const topUpRoute = (auth: AuthService) =>
  createRoute({
    method: "post",
    path: "/wallet/admin/top-up",
    tags: ["Wallet"],
    operationId: "adminTopUp",
    summary: "Fund the calling admin's wallet (admin)",
    description:
      "Credits the calling admin's own wallet: the float that deposit approvals debit. Ledgered like every balance change (`admin top-up`), exactly once per `idempotencyKey`: a retry answers the first outcome with `applied: false`; the same key with another amount is 409 `OP_ID_REUSED`.",
    ...adminOnly(auth),
    request: {
      body: jsonBody(TopUpBody, { amount: 1_000_000, idempotencyKey: "float-2026-11-26-001" }),
    },
    responses: {
      200: jsonResponse(TopUpResult, "Credited, or already credited under this key"),
      ...errorResponses(
        ...JSON_BODY_ERRORS,
        ...ADMIN_ERRORS,
        "OP_ID_REUSED",
        "OP_IN_PROGRESS",
        "BALANCE_CONTENDED",
        "BALANCE_DEFERRED",
        ...STORE_ERRORS,
      ),
    },
  });
