import { z } from "@hono/zod-openapi";
import { ERRORS, type ErrorCode, type ErrorStatus } from "./errors";

/**
 * OpenAPI pieces every route is written with, so the document is generated from one source: the
 * error catalogue (src/core/errors.ts) for error responses, one shape for JSON bodies.
 */

/** Spread into a public route: `security: []` says "no credentials" to linters and clients. */
export const anyone = { security: [] };

interface ErrorResponseConfig {
  description: string;
  content: { "application/json": { schema: z.ZodType } };
}

/** One `responses` entry per status the given codes answer with. */
export type ErrorResponses<C extends ErrorCode> = { [S in ErrorStatus<C>]: ErrorResponseConfig };

/** The SPEC §5 error envelope with `code` narrowed to what this response can carry. */
function errorEnvelopeSchema(codes: readonly ErrorCode[]) {
  const [first] = codes;
  return z
    .object({
      success: z.literal(false),
      error: z.object({
        code: z.enum(codes as [ErrorCode, ...ErrorCode[]]),
        message: z.string(),
        details: z.unknown().optional(),
      }),
    })
    .openapi({
      example: first && { success: false, error: { code: first, message: ERRORS[first].message } },
    });
}

/**
 * The `responses` entries for the catalogue errors a route can answer, grouped by status, each
 * with the envelope schema and a description naming its codes. Spread into `responses`.
 */
export function errorResponses<const C extends readonly ErrorCode[]>(
  ...codes: C
): ErrorResponses<C[number]> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = ERRORS[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<number, ErrorResponseConfig> = {};
  for (const [status, list] of byStatus) {
    out[status] = {
      description: list.map((c) => `${ERRORS[c].message} (\`${c}\`)`).join("; "),
      content: { "application/json": { schema: errorEnvelopeSchema(list) } },
    };
  }
  return out as ErrorResponses<C[number]>;
}

/** A JSON response: `description` plus the schema. */
export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

/** A JSON request body with the example the docs and generators show. */
export const jsonBody = <T extends z.ZodType>(schema: T, example: z.input<T>, required = true) => ({
  required,
  content: { "application/json": { schema, example } },
});

/**
 * What any route with a JSON body can answer before its handler runs. PAYLOAD_TOO_LARGE (413) is
 * the body cap at the edge (plugins/operations/http-guard): it applies to every body, whatever its
 * content type, so the optional-body list carries it too.
 */
export const JSON_BODY_ERRORS = [
  "VALIDATION_ERROR",
  "INVALID_JSON",
  "UNSUPPORTED_MEDIA_TYPE",
  "PAYLOAD_TOO_LARGE",
] as const satisfies readonly ErrorCode[];

/** An optional JSON body: without a JSON content type it is simply absent, so no 415. */
export const OPTIONAL_JSON_BODY_ERRORS = [
  "VALIDATION_ERROR",
  "INVALID_JSON",
  "PAYLOAD_TOO_LARGE",
] as const satisfies readonly ErrorCode[];

/** What any route that reads or writes MongoDB (or must reach Redis) can answer. */
export const STORE_ERRORS = ["STORE_UNAVAILABLE"] as const satisfies readonly ErrorCode[];
