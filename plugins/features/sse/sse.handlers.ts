import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv, AuthUser } from "../../../src/core/app-env";
import { clientIp } from "../../../src/core/client-ip";
import { appError } from "../../../src/core/errors";
import type { PluginContext } from "../../../src/core/plugin";
import { eventsTopic } from "../../cache/events";
import type { AuthService } from "../auth";
import type { AddressSlots } from "./address-slots";
import { type ConnectionOptions, SseConnection } from "./connection";
import type { SseHub } from "./hub";
import { sseMetrics } from "./metrics";
import type { eventsRoute } from "./sse.routes";
import { resolveSseCaller } from "./sse-auth";
import { toUserEvent, type UserEvent } from "./sse-event";

/** SPEC §5 bounds the replay window; this bounds one reconnect's replay read. */
const REPLAY_LIMIT = 1000;
const RETRY_MS = 3000;

export function eventsHandler(
  ctx: PluginContext,
  hub: SseHub,
  auth: AuthService,
  slots: AddressSlots,
): RouteHandler<typeof eventsRoute, AppEnv> {
  const topic = eventsTopic(ctx.config.CACHE_PREFIX);
  const delivered = sseMetrics(ctx.metrics).eventsDelivered;

  /** What the caller missed after `lastId`, filtered exactly as live fan-out is. */
  async function missedSince(lastId: string, userId: string, admin: boolean): Promise<UserEvent[]> {
    try {
      const messages = await ctx.bus.since(topic, lastId, REPLAY_LIMIT);
      const out: UserEvent[] = [];
      for (const m of messages) {
        const ev = toUserEvent(m);
        if (ev && (admin || ev.userId === userId)) out.push(ev);
      }
      return out;
    } catch (err) {
      // Replay is best effort: live events still flow, the client may refetch its state.
      ctx.logger.warn({ err, userId }, "SSE replay unavailable");
      return [];
    }
  }

  // One counter update per fan-out, not per stream: an event to 10k streams is one inc(10000).
  let uncounted = 0;
  const count = () => {
    delivered.inc(uncounted);
    uncounted = 0;
  };
  const onDelivered = () => {
    if (uncounted++ === 0) queueMicrotask(count);
  };
  /**
   * Built outside the request handler's scope: a stream lives for hours, and closures made in
   * the handler would keep the whole request (its context, headers, middleware frames) alive.
   * One options object for every stream (ConnectionOptions).
   */
  const options: ConnectionOptions = {
    maxQueue: ctx.config.SSE_MAX_QUEUE,
    sessionValid: (user) => auth.isSessionCurrent(user),
    retryMs: RETRY_MS,
    onDelivered,
    onClosed: (cn, reason) => hub.remove(cn, reason),
  };
  const openConnection = (caller: AuthUser, release: () => void) =>
    new SseConnection(caller, options, release);

  return async function streamEvents(c) {
    const query = c.req.valid("query");
    const caller = await resolveSseCaller(c, auth, query.ticket);
    if (!caller) throw appError("UNAUTHORIZED");
    const lastEventId = c.req.header("last-event-id") ?? query.lastEventId;
    const release = slots.take(clientIp(c, ctx.config.TRUST_PROXY));
    // Under Bun.serve, `c.env` is the server. Its idle timer is not reset by what a streaming
    // response writes (measured on Bun 1.4.5: a stream writing every 300 ms is still cut at the
    // timeout), so this request alone opts out of it; the heartbeats are what find a dead peer
    // (a failed write aborts the stream) and SSE_MAX_QUEUE drops a client that stops reading.
    (c.env as { timeout?: (req: Request, seconds: number) => void } | undefined)?.timeout?.(
      c.req.raw,
      0,
    );

    const conn = openConnection(caller, release);
    // Registered before the replay read so nothing published in between is lost; the
    // connection holds live events until the replay is written and sends each id once.
    hub.add(conn);
    if (lastEventId)
      void missedSince(lastEventId, caller.id, caller.role === "admin").then((missed) =>
        conn.finishReplay(missed),
      );
    else conn.finishReplay([]);
    return c.body(conn.body, 200, {
      "Content-Type": "text/event-stream",
      "Cache-Control": "no-cache",
      Connection: "keep-alive",
    });
  };
}
