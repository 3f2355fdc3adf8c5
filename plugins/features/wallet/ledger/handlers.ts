import type { RouteHandler } from "@hono/zod-openapi";
import { ObjectId } from "bson";
import type { AppEnv } from "../../../../src/core/app-env";
import { ok } from "../../../../src/core/errors";
import type { PluginContext } from "../../../../src/core/plugin";
import { currentUser } from "../../auth";
import { drainUser } from "../balance/outbox";
import { ledger } from "../balance/steps";
import { page } from "../shared/pagination";
import type { ledgerRoute } from "./routes";

export function ledgerHandler(
  ctx: PluginContext,
): RouteHandler<ReturnType<typeof ledgerRoute>, AppEnv> {
  return async function listLedger(c) {
    const me = currentUser(c);
    const q = c.req.valid("query");
    const col = ledger(ctx);
    const owner = new ObjectId(me.id);
    // Landed ops wait in the user's outbox for the background drain: drain them now, so the
    // page read next holds every applied change and the ledger sums to the balance. Pending
    // intents are not shown: they may still be dropped (insufficient funds).
    await drainUser(ctx, owner);
    const p = await page((f, o) => col.find(f, o), { userId: owner, status: "applied" }, q);
    const items = p.items.map((e) => ({
      id: e._id.toHexString(),
      opId: e.opId,
      amount: e.amount,
      balanceAfter: e.balanceAfter ?? null,
      reason: e.reason,
      createdAt: e.createdAt.toISOString(),
    }));
    return c.json(ok({ items, nextCursor: p.nextCursor }), 200);
  };
}
