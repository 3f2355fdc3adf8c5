import { createRouter } from "../../../src/core/app";
import type { Plugin, PluginContext } from "../../../src/core/plugin";
import type { IndexSpec } from "../../../src/core/ports/document-store";
import { rawUsers } from "../users";
import { createBalanceService } from "./balance/apply";
import { settleDrains } from "./balance/outbox";
import { storedHook } from "./balance/stored";
import { DEPOSITS_COLLECTION, LEDGER_COLLECTION, WITHDRAWALS_COLLECTION } from "./collections";
import { ledgerHandler } from "./ledger/handlers";
import { ledgerRoute } from "./ledger/routes";
import {
  approveDepositHandler,
  approveWithdrawalHandler,
  listDepositsHandler,
  listWithdrawalsHandler,
  rejectDepositHandler,
  rejectWithdrawalHandler,
  requestDepositHandler,
  requestWithdrawalHandler,
} from "./requests/handlers";
import { recoverWallet } from "./requests/recover";
import { depositRoutes, withdrawalRoutes } from "./requests/routes";
import type { Faults } from "./shared/faults";
import { topUpHandler } from "./top-up/handlers";
import { topUpRoute } from "./top-up/routes";

export { drainUser, settleDrains } from "./balance/outbox";
export { recoverEntry, recoverPending } from "./balance/recover";
export type { LedgerEntry } from "./balance/types";
export { DEPOSITS_COLLECTION, LEDGER_COLLECTION, WITHDRAWALS_COLLECTION } from "./collections";
export { recoverApprovals, recoverWallet } from "./requests/recover";
export type { ApprovalStep, BalanceStep, Faults } from "./shared/faults";

export interface WalletPluginOptions {
  /** Pending ops/approvals younger than this are presumed live (default 30 s). */
  graceMs?: number;
  /** How long a duplicate opId waits for the in-flight original (default 2 s). */
  waitMs?: number;
  /** Crash injection for tests (see shared/faults.ts). */
  faults?: Faults;
  /** Run recovery in onReady (default true). */
  recoverOnStart?: boolean;
  /**
   * Also run it on this period (default 60 s, 0 = off): an instance that crashed is not always
   * restarted, and its interrupted operations must not wait for the next deploy.
   */
  recoverEveryMs?: number;
}

export const WALLET_INDEXES: readonly IndexSpec[] = [
  { collection: LEDGER_COLLECTION, key: { opId: 1 }, unique: true, name: "opId_unique" },
  { collection: LEDGER_COLLECTION, key: { userId: 1, status: 1, _id: -1 } },
  { collection: LEDGER_COLLECTION, key: { status: 1, createdAt: 1 } },
  { collection: DEPOSITS_COLLECTION, key: { userId: 1, _id: -1 } },
  { collection: DEPOSITS_COLLECTION, key: { status: 1, _id: -1 } },
  { collection: WITHDRAWALS_COLLECTION, key: { userId: 1, _id: -1 } },
  { collection: WITHDRAWALS_COLLECTION, key: { status: 1, _id: -1 } },
];

/** Balance service (exactly-once ledgered changes), deposits, withdrawals and the ledger. */
export function walletPlugin(options: WalletPluginOptions = {}): Plugin {
  const graceMs = options.graceMs ?? 30_000;
  const faults = options.faults;
  let timer: ReturnType<typeof setInterval> | undefined;
  return {
    name: "wallet",
    dependencies: ["cache-sync", "auth"],
    register(ctx) {
      if (
        (faults?.withoutAccountCheck || faults?.answerBeforeWriteThrough) &&
        ctx.config.NODE_ENV !== "test"
      )
        throw new Error("the approval protections can only be switched off in tests");
      ctx.provide(
        "balance",
        createBalanceService(ctx, { graceMs, waitMs: options.waitMs ?? 2000 }, faults),
      );
    },
    hooks: (ctx) => [storedHook(ctx)],
    routes(ctx) {
      const auth = ctx.use("auth");
      const router = createRouter();
      const d = depositRoutes(auth);
      router.openapi(d.create, requestDepositHandler(ctx));
      router.openapi(d.approve, approveDepositHandler(ctx, faults));
      router.openapi(d.reject, rejectDepositHandler(ctx));
      router.openapi(d.list, listDepositsHandler(ctx));
      const w = withdrawalRoutes(auth);
      router.openapi(w.create, requestWithdrawalHandler(ctx));
      router.openapi(w.approve, approveWithdrawalHandler(ctx, faults));
      router.openapi(w.reject, rejectWithdrawalHandler(ctx));
      router.openapi(w.list, listWithdrawalsHandler(ctx));
      router.openapi(ledgerRoute(auth), ledgerHandler(ctx));
      router.openapi(topUpRoute(auth), topUpHandler(ctx));
      return router;
    },
    async onReady(ctx) {
      await ctx.ensureIndexes(WALLET_INDEXES);
      if (options.recoverOnStart !== false) await recoverQuietly(ctx, graceMs);
      await creditAdminFloat(ctx);
      const every = options.recoverEveryMs ?? 60_000;
      if (every > 0) {
        timer = setInterval(() => void recoverQuietly(ctx, graceMs), every);
        timer.unref?.();
      }
    },
    async onClose(ctx) {
      if (timer) clearInterval(timer);
      await settleDrains(ctx);
    },
  };
}

/**
 * Deposit approvals debit the approving admin (SPEC §5), so a fresh deployment needs a float.
 * Credited through the ledger with a fixed opId: once per admin, however many instances start.
 */
async function creditAdminFloat(ctx: PluginContext) {
  const amount = ctx.config.ADMIN_INITIAL_BALANCE;
  const email = ctx.config.ADMIN_EMAIL?.toLowerCase();
  if (!amount || !email) return;
  const admin = await rawUsers(ctx).findOne({ email }, { projection: { _id: 1 } });
  if (!admin) return;
  const id = admin._id.toHexString();
  await ctx.use("balance").apply(id, amount, "admin float", { opId: `admin-float:${id}` });
  // Ledgered before the app reports ready: a check of the ledger right after start-up (the
  // doctor, a migration's dry run) finds the float settled, not in flight in the outbox.
  await settleDrains(ctx);
}

async function recoverQuietly(ctx: PluginContext, graceMs: number) {
  try {
    const r = await recoverWallet(ctx, { graceMs });
    if (r.ops || r.approvals) ctx.logger.info(r, "wallet recovery settled interrupted operations");
  } catch (err) {
    // Recovery is retried on the next start and by duplicate requests; it must not block serving.
    ctx.logger.warn({ err }, "wallet recovery failed; retried on the next round");
  }
}
