import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../../src/core/app-env";
import { ok } from "../../../src/core/errors";
import type { PluginContext } from "../../../src/core/plugin";
import { runDoctor } from "./doctor/scan";
import type { doctorRoute } from "./doctor.routes";

export function doctorHandler(
  ctx: PluginContext,
): RouteHandler<ReturnType<typeof doctorRoute>, AppEnv> {
  return async function runDoctorReport(c) {
    const { limit, cursor } = c.req.valid("query");
    const report = await runDoctor(ctx.stores.db, { sensitive: ctx.config.SENSITIVE_FIELDS });
    const from = cursor ? Number(cursor) : 0;
    const items = report.findings.slice(from, from + limit);
    const next = from + items.length;
    return c.json(
      ok({
        ok: report.ok,
        scanned: report.scanned,
        checks: report.checks,
        items,
        nextCursor: next < report.findings.length ? String(next) : null,
        truncated: report.truncated,
      }),
      200,
    );
  };
}
