import type { RouteHandler } from "@hono/zod-openapi";
import { LRUCache } from "lru-cache";
import type { AppEnv } from "../../../src/core/app-env";
import { ok } from "../../../src/core/errors";
import type { PluginContext } from "../../../src/core/plugin";
import { type DoctorReport, runDoctor } from "./doctor/scan";
import type { doctorRoute } from "./doctor.routes";

/**
 * A call without a cursor scans the database; the pages after it are read from that scan (the
 * cursor names it), so paging costs no further scan and every page belongs to one report. A
 * cursor whose scan is gone — expired, or made by another instance — scans again.
 */
export function doctorHandler(
  ctx: PluginContext,
): RouteHandler<ReturnType<typeof doctorRoute>, AppEnv> {
  // At most 10,000 findings each (runDoctor's cap): a few MB for the lot.
  const scans = new LRUCache<string, DoctorReport>({ max: 4, ttl: 10 * 60_000 });
  return async function runDoctorReport(c) {
    const { limit, cursor } = c.req.valid("query");
    const [scanId, offset] = cursor ? (cursor.split(".") as [string, string]) : [undefined, "0"];
    let id = scanId;
    let report = id === undefined ? undefined : scans.get(id);
    if (!report || id === undefined) {
      report = await runDoctor(ctx.stores.db, { sensitive: ctx.config.SENSITIVE_FIELDS });
      id = crypto.randomUUID().replaceAll("-", "").slice(0, 16);
      scans.set(id, report);
    }
    const from = Number(offset);
    const items = report.findings.slice(from, from + limit);
    const next = from + items.length;
    return c.json(
      ok({
        ok: report.ok,
        scanned: report.scanned,
        checks: report.checks,
        items,
        nextCursor: next < report.findings.length ? `${id}.${next}` : null,
        truncated: report.truncated,
      }),
      200,
    );
  };
}
