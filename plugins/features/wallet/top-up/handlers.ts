import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../../../src/core/app-env";
import { ok } from "../../../../src/core/errors";
import type { PluginContext } from "../../../../src/core/plugin";
import { currentUser } from "../../auth";
import type { topUpRoute } from "./routes";

/**
 * An admin funds their own float. The opId is derived from the caller and their key, so the
 * balance service's unique ledger opId makes it exactly once, and one admin's key can never
 * collide with another's.
 */
export function topUpHandler(
  ctx: PluginContext,
): RouteHandler<ReturnType<typeof topUpRoute>, AppEnv> {
  return async function adminTopUp(c) {
    const me = currentUser(c);
    const { amount, idempotencyKey } = c.req.valid("json");
    const opId = `admin-top-up:${me.id}:${idempotencyKey}`;
    const r = await ctx.use("balance").apply(me.id, amount, "admin top-up", { opId });
    return c.json(ok({ opId, applied: r.applied, balance: r.balanceAfter }), 200);
  };
}
