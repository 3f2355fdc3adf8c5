import { LRUCache } from "lru-cache";
import type { Logger } from "../../../src/core/logger";
import type { BusMessage } from "../../../src/core/ports/event-bus";
import type { CloseReason, SseConnection } from "./connection";
import { Expiries } from "./expiries";
import type { SseMetrics } from "./metrics";
import { toUserEvent } from "./sse-event";

/** Heartbeat ticks per interval (fewer when the interval is short: no tick under MIN_TICK_MS). */
const HEARTBEAT_SLICES = 16;
const MIN_TICK_MS = 10;

/**
 * This instance's SSE clients, indexed for fan-out. The instance holds one bus subscription and
 * routes each event in process: to the owner's connections and to admins', never to anyone else.
 */
export class SseHub {
  private readonly byUser = new Map<string, Set<SseConnection>>();
  private readonly admins = new Set<SseConnection>();
  /** The newest version dispatched per user (bounded: an evicted user only loses the filter). */
  private readonly newest = new LRUCache<string, number>({ max: 100_000 });
  /**
   * Every stream, in heartbeat slices: one timer for the instance, started with the first stream,
   * beats one slice per tick, so each stream still gets its heartbeat every heartbeatMs but a
   * round of them is spread over the interval. Beating 10k streams at once is 10k socket writes in
   * one go, and an event fanned out behind that burst would wait for all of them.
   */
  private readonly slices: Set<SseConnection>[];
  private added = 0;
  private tick = 0;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  /** Every stream's credential expiry, on one timer: a stream is a use of its credential. */
  private readonly expiries = new Expiries();

  constructor(
    private readonly opts: {
      maxPerUser: number;
      heartbeatMs: number;
      metrics: SseMetrics;
      logger: Logger;
    },
  ) {
    this.slices = Array.from(
      {
        length: Math.max(1, Math.min(HEARTBEAT_SLICES, Math.floor(opts.heartbeatMs / MIN_TICK_MS))),
      },
      () => new Set<SseConnection>(),
    );
  }

  /**
   * Registers a connection. Over the per-user cap the oldest connection is closed rather than the
   * new one refused: the newest tab is the one the user looks at, and a refused EventSource
   * (non-200) never retries, while the evicted one is told why in a last `event: close`.
   */
  add(conn: SseConnection): void {
    let set = this.byUser.get(conn.user.id);
    if (!set) {
      set = new Set();
      this.byUser.set(conn.user.id, set);
    }
    set.add(conn);
    conn.heartbeatSlice = this.added++ % this.slices.length;
    this.slices[conn.heartbeatSlice]?.add(conn);
    this.heartbeat ??= setInterval(() => {
      const slice = this.slices[this.tick++ % this.slices.length];
      if (slice) for (const c of slice) c.beat();
    }, this.opts.heartbeatMs / this.slices.length);
    this.heartbeat.unref?.();
    if (conn.user.role === "admin") this.admins.add(conn);
    // Never closes synchronously, even when already expired: the caller still returns the body.
    if (conn.user.exp !== undefined) conn.expiry = this.expiries.at(conn.user.exp * 1000, conn);
    this.opts.metrics.sseClients.inc();
    while (set.size > this.opts.maxPerUser) {
      const oldest = set.values().next().value;
      if (!oldest) break;
      oldest.close("evicted");
    }
  }

  /** Called by the connection itself when it closes, whatever the reason. */
  remove(conn: SseConnection, reason: CloseReason): void {
    const set = this.byUser.get(conn.user.id);
    if (!set?.delete(conn)) return;
    this.slices[conn.heartbeatSlice]?.delete(conn);
    if (set.size === 0) this.byUser.delete(conn.user.id);
    this.admins.delete(conn);
    this.opts.metrics.sseClients.dec();
    if (reason === "slow-client")
      this.opts.logger.warn({ userId: conn.user.id }, "SSE client too slow, stream dropped");
  }

  dispatch(msg: BusMessage): void {
    const ev = toUserEvent(msg);
    if (!ev) return;
    // Writes publish before they answer, and Redis delivers in publish order: an event arriving
    // after a newer one for the same user was published after that newer write may have been
    // acknowledged. Its change is in the newer `user` already; showing it would undo that.
    if (ev.version !== undefined) {
      const newest = this.newest.get(ev.userId);
      if (newest !== undefined && ev.version < newest) return;
      if (newest === undefined || ev.version > newest) this.newest.set(ev.userId, ev.version);
    }
    const owner = this.byUser.get(ev.userId);
    if (owner)
      for (const conn of [...owner]) {
        // Logout (a new token version) or a role change ends the streams the old tokens opened;
        // the event itself is not delivered to them.
        if (ev.session && !conn.matchesSession(ev.session)) conn.close("revoked");
        else conn.deliver(ev);
      }
    for (const conn of this.admins) if (conn.user.id !== ev.userId) conn.deliver(ev);
  }

  closeAll(): void {
    for (const set of [...this.byUser.values()])
      for (const conn of [...set]) conn.close("shutdown");
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    this.expiries.stop();
  }
}
