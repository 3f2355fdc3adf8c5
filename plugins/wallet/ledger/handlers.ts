import type { RouteHandler } from "@hono/zod-openapi";
import { ObjectId } from "bson";
import type { AppEnv } from "../../../src/core/app-env";
import { ok } from "../../../src/core/errors";
import type { PluginContext } from "../../../src/core/plugin";
import { currentUser } from "../../auth";
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
    // Pending intents are not shown: they may still be dropped (insufficient funds).
    const p = await page(
      (f, o) => col.find(f, o),
      { userId: new ObjectId(me.id), status: "applied" },
      q,
    );
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
