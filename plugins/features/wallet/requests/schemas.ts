import { z } from "@hono/zod-openapi";
import { envelope } from "../../../../src/domain/schemas";
import { Amount } from "../shared/amount";
import { PageQuery } from "../shared/pagination";

const RequestFields = {
  id: z.string(),
  userId: z.string(),
  amount: z.number().int(),
  status: z.enum(["pending", "approving", "approved", "rejected"]),
  createdAt: z.string(),
  updatedAt: z.string(),
};

export const DepositSchema = z
  .looseObject({ ...RequestFields, senderName: z.string() })
  .openapi("Deposit");
export const WithdrawalSchema = z
  .looseObject({ ...RequestFields, destination: z.string() })
  .openapi("Withdrawal");

export const DepositResult = envelope(DepositSchema).openapi("DepositResult");
export const WithdrawalResult = envelope(WithdrawalSchema).openapi("WithdrawalResult");
export const DepositPage = envelope(
  z.object({ items: z.array(DepositSchema), nextCursor: z.string().nullable() }),
).openapi("DepositPage");
export const WithdrawalPage = envelope(
  z.object({ items: z.array(WithdrawalSchema), nextCursor: z.string().nullable() }),
).openapi("WithdrawalPage");

export const DepositRequestBody = z
  .strictObject({
    amount: Amount,
    senderName: z.string().trim().min(1).max(120),
    receiptImage: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional(),
  })
  .openapi("DepositRequest");

export const WithdrawalRequestBody = z
  .strictObject({ amount: Amount, destination: z.string().trim().min(1).max(200) })
  .openapi("WithdrawalRequest");

export const ApproveDepositBody = z
  .strictObject({ amount: Amount.optional() })
  .openapi("ApproveDeposit");
export const ApproveWithdrawalBody = z.strictObject({}).openapi("ApproveWithdrawal");
export const RejectBody = z
  .strictObject({ reason: z.string().trim().max(500).optional() })
  .openapi("RejectRequest");

export const ListQuery = z.object({
  ...PageQuery,
  status: z
    .enum(["pending", "approving", "approved", "rejected"])
    .optional()
    .openapi({ param: { name: "status", in: "query" } }),
});
