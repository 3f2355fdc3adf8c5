import { createRoute, z } from "@hono/zod-openapi";
import type { AuthService } from "../../../src/domain/auth";
import { envelope, errorResponse } from "../../../src/domain/schemas";
import { userOnly } from "../../auth/guards";
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
    summary: "The caller's applied balance changes, newest first",
    ...userOnly(auth),
    request: { query: z.object(PageQuery) },
    responses: {
      200: {
        content: {
          "application/json": {
            schema: envelope(
              z.object({ items: z.array(LedgerEntrySchema), nextCursor: z.string().nullable() }),
            ).openapi("LedgerPage"),
          },
        },
        description: "One page",
      },
      400: errorResponse("Invalid query"),
      401: errorResponse("No or invalid token"),
    },
  });
