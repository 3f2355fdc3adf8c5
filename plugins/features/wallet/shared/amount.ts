import { z } from "@hono/zod-openapi";

/** Integer minor units (SPEC §3). No coercion: "10", 1.5, 0, -5, null and 1e20 are all 400s. */
export const MAX_AMOUNT = 1_000_000_000_000;

export const Amount = z
  .number()
  .int()
  .positive()
  .max(MAX_AMOUNT)
  .openapi({ description: "Integer amount in minor units (cents)", example: 5000 });

/** The balance service's own guard, for callers that bypass HTTP validation. */
export function isValidDelta(amount: number): boolean {
  return Number.isSafeInteger(amount) && amount !== 0 && Math.abs(amount) <= MAX_AMOUNT;
}
