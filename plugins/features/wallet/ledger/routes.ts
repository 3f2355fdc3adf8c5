import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses, jsonResponse, STORE_ERRORS } from "../../../../src/core/api-route";
import { envelope } from "../../../../src/domain/schemas";
import type { AuthService } from "../../auth";
import { USER_ERRORS, userOnly } from "../../auth";
import { PageQuery } from "../shared/pagination";

export const LedgerEntrySchema = z
  .object({
    id: z.string(),
    opId: z.string(),
    amount: z.number().int(),
    balanceAfter: z.number().int().nullable(),
    reason: z.string(),
    createdAt: z.string(),
  })
  .openapi("LedgerEntry");

export const ledgerRoute = (auth: AuthService) =>
  createRoute({
    method: "get",
    path: "/wallet/ledger",
    tags: ["Wallet"],
    operationId: "getLedger",
    summary: "The caller's ledger",
    description:
      "The caller's applied balance changes, newest first, each with the balance after it. Cursor-paginated: pass `nextCursor` back as `cursor` until it is null.",
    ...userOnly(auth),
    request: { query: z.object(PageQuery) },
    responses: {
      200: jsonResponse(
        envelope(
          z.object({ items: z.array(LedgerEntrySchema), nextCursor: z.string().nullable() }),
        ).openapi("LedgerPage"),
        "One page",
      ),
      ...errorResponses("VALIDATION_ERROR", "INVALID_CURSOR", ...USER_ERRORS, ...STORE_ERRORS),
    },
  });
