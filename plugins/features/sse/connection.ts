import type { AuthUser } from "../../../src/core/app-env";
import type { Expiring, Expiry } from "./expiries";
import { frameOf, rawFrame, type UserEvent } from "./sse-event";

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

const HEARTBEAT = rawFrame(": heartbeat\n\n");

/**
 * Bun's ReadableStream constructor, typed for a direct source: the project compiles with lib.dom,
 * whose constructor type has no overload for one.
 */
const DirectStream = ReadableStream as unknown as new (
  source: Bun.DirectUnderlyingSource<Uint8Array>,
) => ReadableStream<Uint8Array>;

/**
 * What every stream of a handler shares (one object for all of them: a stream holds no closures
 * of its own beyond its slot's release).
 */
export interface ConnectionOptions {
  /** Frames waiting for a slow socket beyond this drop the connection (SSE_MAX_QUEUE). */
  maxQueue: number;
  /**
   * Re-checks the stream's session every SESSION_CHECK_HEARTBEATS heartbeats: an account deleted
   * (no event announces it) or a logout whose event was lost still ends the stream. false closes
   * it; a failed check (stores down) keeps it, since only a known refusal may deny.
   */
  sessionValid?: (user: AuthUser) => Promise<boolean>;
  /** Reconnect delay suggested to EventSource. */
  retryMs: number;
  onDelivered(): void;
  onClosed(conn: SseConnection, reason: CloseReason): void;
}

/** How long a graceful close waits for its last frame before giving up on the socket. */
const FINAL_FRAME_TIMEOUT_MS = 250;

/**
 * One client stream: the response body itself (`body`), fed with already encoded frames. The body
 * is a Bun direct stream: a frame is written straight into the response's sink (no stream queue,
 * no read request per chunk), and a write that finds the sink full returns a promise. From then
 * until it settles, and before the server has started the body, frames wait in a bounded backlog,
 * because a client that does not read would otherwise make us hold every event published while
 * it stalls. Overflow closes the stream; EventSource reconnects with Last-Event-ID and replays
 * what it missed, which costs less than buffering. Heartbeats and credential expiry come from the
 * hub's timers (`beat`, `expire`), so an idle stream holds no timer of its own; the connection is
 * its body's underlying source (type, pull, cancel).
 */
export class SseConnection implements Expiring {
  readonly body: ReadableStream<Uint8Array>;
  /** The response's sink, once the server started the body (pull). */
  private sink: ReadableStreamDirectController | undefined;
  /** Set while the sink is full: frames wait in the backlog until it drains. */
  private draining = false;
  private backlog: Uint8Array[] = [];
  private closedWith: CloseReason | undefined;
  /** Set by a graceful close: the body ends once the backlog is written. */
  private ending = false;
  private ended = false;
  /** Settles an in-process reader's pending pull when the body ends (see pull). */
  private finished: (() => void) | undefined;
  /** Live events that arrive while the replay is being read; flushed after it. */
  private held: UserEvent[] | undefined = [];
  /** Ids already sent by the replay: the same event may also arrive live, sent once. */
  private replayed: Set<string> | undefined;
  private wroteSinceBeat = false;
  /** Spread so a hub's streams do not all check their session on the same heartbeat. */
  private beats = Math.floor(Math.random() * SESSION_CHECK_HEARTBEATS);
  /** Set by the hub when the credential has an expiry (SseHub.add). */
  expiry: Expiry | undefined;
  /** The hub's heartbeat slice this stream is beaten in (SseHub.add). */
  heartbeatSlice = 0;

  constructor(
    readonly user: AuthUser,
    private readonly opts: ConnectionOptions,
    /** Gives back what opening the stream took (its address slot); called once, on close. */
    private readonly release: () => void = () => {},
  ) {
    this.body = new DirectStream(this);
    // Sent first so the client sees the stream open (and learns the retry delay) before any event.
    this.write(rawFrame(`retry: ${opts.retryMs}\n: connected\n\n`));
  }

  /** The body's underlying source: read by ReadableStream, not by us. */
  get type(): "direct" {
    return "direct";
  }

  /**
   * The body started. Bun.serve calls this once, and a direct stream whose pull returns without
   * closing stays open until it is closed: no pending promise per stream. An in-process reader
   * calls it again once the previous call settled: that call waits for the end, or the reader
   * would pull in a loop.
   */
  pull(sink: ReadableStreamDirectController): Promise<void> | undefined {
    const again = this.sink !== undefined;
    this.sink = sink;
    this.flush();
    if (this.ended) {
      sink.close();
      return undefined;
    }
    if (!again) return undefined;
    return new Promise<void>((resolve) => {
      this.finished = resolve;
    });
  }

  cancel(): void {
    this.close("client-gone");
  }

  /** The credential that opened the stream expired (the hub's expiry timer). */
  expire(): void {
    this.close("expired");
  }

  /** False once the account's session moved on from the one this stream was opened with. */
  matchesSession(s: { tokenVersion: number; role: string }): boolean {
    if (this.user.role === "admin" && s.role !== "admin") return false;
    return s.tokenVersion <= (this.user.tv ?? 0);
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /**
   * The hub's heartbeat tick. Proxies close idle streams; a comment line keeps them open (and
   * a dead peer shows as a failed write) and EventSource ignores it.
   */
  beat(): void {
    if (this.closed) return;
    if (!this.wroteSinceBeat && this.backlog.length === 0) this.write(HEARTBEAT);
    this.wroteSinceBeat = false;
    if (++this.beats % SESSION_CHECK_HEARTBEATS === 0 && this.opts.sessionValid)
      this.opts.sessionValid(this.user).then(
        (valid) => {
          if (!valid) this.close("revoked");
        },
        () => {},
      );
  }

  /** A live event from the bus. */
  deliver(ev: UserEvent): void {
    if (this.closed) return;
    if (this.held) {
      this.held.push(ev);
      if (this.held.length > this.opts.maxQueue) this.close("slow-client");
      return;
    }
    if (this.replayed?.has(ev.id)) return;
    this.send(ev);
  }

  /** Sends the replayed events (oldest first), then whatever arrived live meanwhile, once each. */
  finishReplay(events: readonly UserEvent[]): void {
    const held = this.held ?? [];
    this.held = undefined;
    if (this.closed) return;
    if (events.length > 0) this.replayed = new Set();
    for (const ev of events) {
      this.replayed?.add(ev.id);
      this.send(ev);
    }
    for (const ev of held) if (!this.replayed?.has(ev.id)) this.send(ev);
  }

  /**
   * Ends the connection. A slow or gone client's stream ends at once with what it holds;
   * otherwise a last `event: close` tells the client why, so it may choose not to reconnect.
   */
  close(reason: CloseReason): void {
    if (this.closed) return;
    this.closedWith = reason;
    this.expiry?.cancel();
    this.held = undefined;
    this.opts.onClosed(this, reason);
    this.release();
    if (reason === "slow-client" || reason === "client-gone") {
      this.backlog = [];
      this.end();
      return;
    }
    this.backlog.push(rawFrame(`event: close\ndata: ${JSON.stringify({ reason })}\n\n`));
    this.ending = true;
    this.flush();
    if (this.ended) return;
    // A client that does not take the last frame in time is stalled: end without it.
    setTimeout(() => {
      this.backlog = [];
      this.end();
    }, FINAL_FRAME_TIMEOUT_MS).unref?.();
  }

  private send(ev: UserEvent): void {
    this.write(frameOf(ev));
    if (!this.closed) this.opts.onDelivered();
  }

  private write(frame: Uint8Array): void {
    if (this.closed) return;
    this.wroteSinceBeat = true;
    if (this.sink && !this.draining && this.backlog.length === 0) {
      this.writeToSink(this.sink, frame);
      return;
    }
    if (this.backlog.length >= this.opts.maxQueue) {
      this.close("slow-client");
      return;
    }
    this.backlog.push(frame);
  }

  /** One frame into the sink; a full sink (a promise) holds further frames until it drains. */
  private writeToSink(sink: ReadableStreamDirectController, frame: Uint8Array): void {
    const written = sink.write(frame);
    if (typeof written === "number") return;
    this.draining = true;
    written.then(
      () => {
        this.draining = false;
        this.flush();
      },
      () => this.close("client-gone"),
    );
  }

  /** Hands the sink what waits (while it takes it), and ends the body after a graceful close. */
  private flush(): void {
    const sink = this.sink;
    if (this.ended || !sink) return;
    while (this.backlog.length > 0 && !this.draining)
      this.writeToSink(sink, this.backlog.shift() as Uint8Array);
    if (this.ending && this.backlog.length === 0 && !this.draining) this.end();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    const sink = this.sink;
    if (!sink) return; // not started: pull closes it at once
    try {
      sink.close();
    } catch {
      // already cancelled by the client
    }
    this.finished?.();
    this.finished = undefined;
  }
}
