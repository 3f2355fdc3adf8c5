import { type AppError, appError } from "../../../../src/core/errors";
import type { PluginContext } from "../../../../src/core/plugin";
import { rawUsers } from "../../users";
import type { Leg, RequestKind } from "./kinds";

/** Where an operator adds money to an admin wallet (the ledgered, idempotent top-up route). */
export const TOP_UP_PATH = "/api/v1/wallet/admin/top-up";

/**
 * The 409 of an approval whose debit cannot be paid, saying whose wallet lacks what and how to
 * fix it. On a fresh deployment that is the approving admin's float for every deposit, which a
 * bare "Insufficient funds" left operators guessing at.
 */
export async function explainShortfall(
  ctx: PluginContext,
  kind: RequestKind,
  debit: Leg,
): Promise<AppError> {
  const doc = await rawUsers(ctx)
    .findOne({ _id: debit.userId }, { projection: { wallet: 1 } })
    .catch(() => null);
  const balance = doc?.wallet.balance ?? null;
  const required = -debit.amount;
  const holds = balance === null ? " " : ` it holds ${balance}, `;
  if (kind.name === "deposit") {
    return appError(
      "INSUFFICIENT_FUNDS",
      `Insufficient funds in the approving admin's wallet:${holds}this deposit approval debits ${required} (minor units). ` +
        `Fund the admin wallet with POST ${TOP_UP_PATH}, or set ADMIN_INITIAL_BALANCE for the bootstrapped admin.`,
      {
        wallet: "admin",
        userId: debit.userId.toHexString(),
        balance,
        required,
        fundWith: [`POST ${TOP_UP_PATH}`, "ADMIN_INITIAL_BALANCE"],
      },
    );
  }
  return appError(
    "INSUFFICIENT_FUNDS",
    `Insufficient funds in the requesting user's wallet:${holds}the withdrawal needs ${required} (minor units). ` +
      "The request is pending again; it can be approved once the user's balance covers it.",
    { wallet: "user", userId: debit.userId.toHexString(), balance, required },
  );
}
