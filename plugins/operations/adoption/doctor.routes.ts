import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses, jsonResponse, STORE_ERRORS } from "../../../src/core/api-route";
import { envelope } from "../../../src/domain/schemas";
import type { AuthService } from "../../features/auth";
import { ADMIN_ERRORS, adminOnly } from "../../features/auth";
import { CHECK_IDS } from "./doctor/checks";

const CheckSchema = z
  .object({
    id: z.enum(CHECK_IDS as [string, ...string[]]),
    severity: z.enum(["blocking", "warning", "info"]),
    fix: z.enum(["migrate", "manual"]),
    title: z.string(),
    count: z.number().int(),
    samples: z.array(z.string()),
  })
  .openapi("DoctorCheck");

const FindingSchema = z
  .object({
    check: z.string(),
    collection: z.string(),
    id: z.string(),
    detail: z.string().optional(),
  })
  .openapi("DoctorFinding");

export const DoctorReportSchema = z
  .object({
    ok: z.boolean().openapi({ description: "false when something blocks correct operation" }),
    scanned: z.object({ users: z.number().int(), requests: z.number().int() }),
    checks: z.array(CheckSchema),
    items: z.array(FindingSchema).openapi({ description: "affected documents, one page" }),
    nextCursor: z.string().nullable(),
    truncated: z.boolean(),
  })
  .openapi("DoctorReport");

export const doctorRoute = (auth: AuthService) =>
  createRoute({
    method: "get",
    path: "/admin/doctor",
    operationId: "runDoctor",
    tags: ["Adoption"],
    summary: "What in the database does not fit cachesync's invariants (read-only)",
    description:
      "The report of `bun run doctor`: every check with its count and sample ids, and the affected documents page by page. A call without a cursor scans the database; the pages after it come from that scan (a cursor whose scan has expired, after 10 minutes, or was made by another instance scans again).",
    ...adminOnly(auth),
    request: {
      query: z.object({
        limit: z.coerce.number().int().min(1).max(1000).default(100),
        cursor: z
          .string()
          .regex(/^[0-9a-f]{16}\.\d{1,9}$/, "nextCursor of the previous page")
          .optional(),
      }),
    },
    responses: {
      200: jsonResponse(envelope(DoctorReportSchema), "The report"),
      ...errorResponses("VALIDATION_ERROR", ...ADMIN_ERRORS, ...STORE_ERRORS),
    },
  });
