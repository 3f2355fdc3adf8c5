import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../../src/core/api-route";
import { UserSchema } from "../../../src/domain/schemas";
import { SSE_TOKEN_COOKIE } from "./sse-auth";

/**
 * The two credentials only this route accepts besides the bearer token (see sse-auth.ts);
 * registered on the SSE router, merged into the app's document with the route.
 */
export const SSE_SECURITY_SCHEMES = {
  sseCookie: {
    type: "apiKey",
    in: "cookie",
    name: SSE_TOKEN_COOKIE,
    description: "The JWT in a cookie, for `new EventSource(url, { withCredentials: true })`",
  },
  sseTicket: {
    type: "apiKey",
    in: "query",
    name: "ticket",
    description: "A 60 s ticket from `GET /api/v1/auth/sse-ticket` (operation getSseTicket)",
  },
} as const;

/**
 * The `data:` of every `userDataUpdated` event (SPEC §5), as a document component so clients
 * generate its type; test/openapi validates real events against it.
 */
export const UserDataUpdatedSchema = z
  .object({
    userId: z.string(),
    version: z.number().int(),
    changed: z.array(z.string()).openapi({ description: "Top-level fields the write changed" }),
    user: UserSchema,
    reason: z.string().optional().openapi({ description: "Why, e.g. `deposit approval #<id>`" }),
    at: z.string().openapi({ description: "ISO time of the write" }),
  })
  .openapi("UserDataUpdated");

export const eventsRoute = createRoute({
  method: "get",
  path: "/events",
  tags: ["Events"],
  operationId: "streamEvents",
  summary: "Live updates (Server-Sent Events)",
  description: [
    "Each event: `event: userDataUpdated`, `id: <stream id>`, `data: { userId, version, changed, user, reason?, at }`.",
    "Auth: `Authorization: Bearer <jwt>`, or `?ticket=` (short-lived SSE ticket, for EventSource), or the `cs_token` cookie.",
    "Reconnect with `Last-Event-ID` (or `?lastEventId=`) to replay what was missed, up to 1000 events within the retained window.",
    "Heartbeat comment lines keep idle proxies open. A client that falls SSE_MAX_QUEUE frames behind is disconnected;",
    "beyond SSE_MAX_PER_USER streams per user the oldest is closed with a final `event: close`.",
  ].join(" "),
  // Alternatives, tried in this order by the server; a present but invalid one is final.
  // Typed wide: an array of differently keyed literals defeats zod-openapi's handler inference.
  security: [{ bearerAuth: [] }, { sseTicket: [] }, { sseCookie: [] }] as Record<
    string,
    string[]
  >[],
  // Documented, not validated: the handler reads it raw, like EventSource sends it.
  parameters: [
    {
      name: "Last-Event-ID",
      in: "header",
      required: false,
      schema: { type: "string", maxLength: 64 },
      description: "The id of the last event received: the stream replays what came after it",
    },
  ],
  request: {
    query: z.object({
      ticket: z
        .string()
        .min(1)
        .max(4096)
        .optional()
        .openapi({ description: "SSE ticket from the auth API (60 s)" }),
      lastEventId: z
        .string()
        .min(1)
        .max(64)
        .optional()
        .openapi({ description: "Same as the Last-Event-ID header" }),
    }),
  },
  responses: {
    200: {
      description:
        "An endless text/event-stream; each `userDataUpdated` event's `data:` line is a UserDataUpdated JSON document",
      content: {
        "text/event-stream": {
          // OpenAPI 3.1 has no item schema for streams (3.2 adds itemSchema): the JSON carried in
          // each frame's data line is named with JSON Schema's contentMediaType/contentSchema.
          schema: {
            type: "string",
            contentMediaType: "application/json",
            contentSchema: { $ref: "#/components/schemas/UserDataUpdated" },
          } as { type: "string" },
        },
      },
    },
    // The stream resolves its caller itself (no requireUser): every refusal is UNAUTHORIZED;
    // a ticket's single use cannot be recorded while Redis is down (503).
    ...errorResponses("VALIDATION_ERROR", "UNAUTHORIZED", "SSE_LIMIT", "STORE_UNAVAILABLE"),
  },
});
