import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../src/domain/schemas";

export const eventsRoute = createRoute({
  method: "get",
  path: "/events",
  tags: ["Events"],
  summary: "Server-Sent Events: userDataUpdated for the caller (admins: everyone)",
  description: [
    "Each event: `event: userDataUpdated`, `id: <stream id>`, `data: { userId, version, changed, user, reason?, at }`.",
    "Auth: `Authorization: Bearer <jwt>`, or `?ticket=` (short-lived SSE ticket, for EventSource), or the `cs_token` cookie.",
    "Reconnect with `Last-Event-ID` (or `?lastEventId=`) to replay what was missed, up to 1000 events within the retained window.",
    "Heartbeat comment lines keep idle proxies open. A client that falls SSE_MAX_QUEUE frames behind is disconnected;",
    "beyond SSE_MAX_PER_USER streams per user the oldest is closed with a final `event: close`.",
  ].join(" "),
  security: [{ bearerAuth: [] }],
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
      description: "An endless text/event-stream",
      content: { "text/event-stream": { schema: z.string() } },
    },
    ...errorResponses(400, 401),
  },
});
