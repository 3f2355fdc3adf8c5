import type { SSEStreamingApi } from "hono/streaming";
import type { AuthUser } from "../../src/core/app-env";
import type { UserEvent } from "./sse-event";

export type CloseReason =
  | "client-gone"
  | "slow-client"
  | "evicted"
  | "shutdown"
  /** The credential that opened the stream expired. */
  | "expired"
  /** Its session was revoked (logout) or the account lost the role it was opened with. */
  | "revoked";

/** With the default 15 s heartbeat, a session check a minute per stream (one cache read). */
const SESSION_CHECK_HEARTBEATS = 4;

/** setTimeout's longest delay (~24.8 days); a longer session is re-armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

type Frame = { kind: "event"; ev: UserEvent } | { kind: "raw"; text: string };

export interface ConnectionOptions {
  /** Frames waiting for a slow socket beyond this drop the connection (SSE_MAX_QUEUE). */
  maxQueue: number;
  heartbeatMs: number;
  /**
   * Re-checks the stream's session every SESSION_CHECK_HEARTBEATS heartbeats: an account deleted
   * (no event announces it) or a logout whose event was lost still ends the stream. false closes
   * it; a failed check (stores down) keeps it, since only a known refusal may deny.
   */
  sessionValid?: () => Promise<boolean>;
  /** Reconnect delay suggested to EventSource. */
  retryMs: number;
  onDelivered(): void;
  onClosed(conn: SseConnection, reason: CloseReason): void;
}

/** How long a graceful close waits for its last frame before giving up on the socket. */
const FINAL_FRAME_TIMEOUT_MS = 250;

/**
 * One client stream. Frames go through a bounded queue drained by a single writer, because a
 * write to a client that does not read never resolves: without the bound, one stalled browser
 * would hold every event published while it stalls. Overflow closes the stream; EventSource
 * reconnects with Last-Event-ID and replays what it missed, which costs less than buffering.
 */
export class SseConnection {
  private queue: Frame[] = [];
  private pumping = false;
  private closedWith: CloseReason | undefined;
  /** Live events that arrive while the replay is being read; flushed after it. */
  private held: UserEvent[] | undefined = [];
  /** Ids already sent by the replay: the same event may also arrive live, sent once. */
  private readonly replayed = new Set<string>();
  private readonly heartbeat: ReturnType<typeof setInterval>;
  private expiry: ReturnType<typeof setTimeout> | undefined;
  private resolveDone!: () => void;
  /** Settles when the connection is over, whoever closed it; the stream callback awaits it. */
  readonly done = new Promise<void>((r) => {
    this.resolveDone = r;
  });

  constructor(
    readonly user: AuthUser,
    private readonly stream: SSEStreamingApi,
    private readonly opts: ConnectionOptions,
  ) {
    // Proxies close idle streams; a comment line keeps them open and EventSource ignores it.
    let beats = 0;
    this.heartbeat = setInterval(() => {
      if (this.queue.length === 0) this.push({ kind: "raw", text: ": heartbeat\n\n" });
      if (++beats % SESSION_CHECK_HEARTBEATS === 0 && opts.sessionValid)
        opts.sessionValid().then(
          (valid) => {
            if (!valid) this.close("revoked");
          },
          () => {},
        );
    }, opts.heartbeatMs);
    this.heartbeat.unref?.();
    if (user.exp !== undefined) this.armExpiry(user.exp * 1000);
    stream.onAbort(() => this.close("client-gone"));
    // Sent at once so the client sees the stream open (and learns the retry delay) before any event.
    this.push({ kind: "raw", text: `retry: ${opts.retryMs}\n: connected\n\n` });
  }

  /** False once the account's session moved on from the one this stream was opened with. */
  matchesSession(s: { tokenVersion: number; role: string }): boolean {
    if (this.user.role === "admin" && s.role !== "admin") return false;
    return s.tokenVersion <= (this.user.tv ?? 0);
  }

  /** A stream is a use of its credential: it ends when the credential does. */
  private armExpiry(atMs: number): void {
    const left = Math.max(0, atMs - Date.now());
    // Never closes synchronously: the constructor's caller registers the connection first.
    this.expiry = setTimeout(
      () => {
        if (Date.now() >= atMs) this.close("expired");
        else this.armExpiry(atMs);
      },
      Math.min(left, MAX_TIMER_MS),
    );
    this.expiry.unref?.();
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /** A live event from the bus. */
  deliver(ev: UserEvent): void {
    if (this.closed) return;
    if (this.held) {
      this.held.push(ev);
      if (this.held.length > this.opts.maxQueue) this.close("slow-client");
      return;
    }
    if (this.replayed.has(ev.id)) return;
    this.push({ kind: "event", ev });
  }

  /** Sends the replayed events (oldest first), then whatever arrived live meanwhile, once each. */
  finishReplay(events: readonly UserEvent[]): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const ev of events) {
      this.replayed.add(ev.id);
      this.push({ kind: "event", ev });
    }
    for (const ev of held) if (!this.replayed.has(ev.id)) this.push({ kind: "event", ev });
  }

  /**
   * Ends the connection. A slow client's stream is aborted (its pending write can never finish);
   * otherwise a last `event: close` tells the client why, so it may choose not to reconnect.
   */
  close(reason: CloseReason): void {
    if (this.closed) return;
    this.closedWith = reason;
    clearInterval(this.heartbeat);
    clearTimeout(this.expiry);
    this.queue = [];
    this.held = undefined;
    this.opts.onClosed(this, reason);
    if (reason === "slow-client" || reason === "client-gone") {
      this.stream.abort();
      this.resolveDone();
      return;
    }
    const last = this.stream
      .writeSSE({ event: "close", data: JSON.stringify({ reason }) })
      .then(() => true);
    void Promise.race([last, Bun.sleep(FINAL_FRAME_TIMEOUT_MS).then(() => false)]).then(
      (written) => {
        // A client that did not take the last frame in time is stalled: a graceful close would wait on it.
        if (written) void this.stream.close();
        else this.stream.abort();
        this.resolveDone();
      },
    );
  }

  private push(frame: Frame): void {
    if (this.closed) return;
    if (this.queue.length >= this.opts.maxQueue) {
      this.close("slow-client");
      return;
    }
    this.queue.push(frame);
    if (!this.pumping) void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      for (let frame = this.queue.shift(); frame && !this.closed; frame = this.queue.shift()) {
        if (frame.kind === "raw") {
          await this.stream.write(frame.text);
        } else {
          await this.stream.writeSSE({
            event: frame.ev.event,
            id: frame.ev.id,
            data: frame.ev.data,
          });
          if (!this.closed) this.opts.onDelivered();
        }
      }
    } finally {
      this.pumping = false;
    }
  }
}
