import { EventSourceParserStream } from "eventsource-parser/stream";
import type { components } from "./api";

/** The `data` of a `userDataUpdated` event (the document's UserDataUpdated schema). */
export type UserDataUpdated = components["schemas"]["UserDataUpdated"];

type TokenSource = string | null | undefined | (() => string | null | undefined);

export interface UserEventsOptions {
  /** Where the API is; in a browser, default: the page's origin. */
  baseUrl?: string;
  /** The bearer token (or a function read at each (re)connect). */
  token: TokenSource;
  /**
   * `"fetch"` (default; Bun, Node, browsers): the token in `Authorization`, `Last-Event-ID` as a
   * header. `"eventsource"` (browsers): the built-in EventSource, which cannot send headers, so
   * each connect first trades the token for a 60 s ticket (`GET /api/v1/auth/sse-ticket`).
   */
  transport?: "fetch" | "eventsource";
  /** Resume after this event id: the server replays what came after it. */
  lastEventId?: string;
  onEvent(event: UserDataUpdated, id: string): void;
  /** The stream is (again) open. After a reconnect, refetch what the replay window may miss. */
  onOpen?(): void;
  /** A connection failed or ended, or the browser's EventSource is retrying by itself. */
  onError?(error: unknown): void;
  /** The helper is about to open a new connection (a fresh ticket, the last event id). */
  onReconnecting?(): void;
  /**
   * The server ended the stream with a final `event: close` (`evicted`: this account opened too
   * many streams elsewhere, reconnecting would evict another one; `shutdown`: a restart).
   * Call `close()` here to stop; otherwise the helper reconnects.
   */
  onServerClose?(reason: string): void;
  /** The server refused the credentials (401): no more reconnects. */
  onUnauthorized?(): void;
  /** First reconnect delay (default 3 s, or the server's `retry:` hint), doubled while failures last. */
  retryMs?: number;
  /** Upper bound of the reconnect delay (default 30 s). */
  maxRetryMs?: number;
  fetch?: typeof fetch;
}

export interface UserEventsSubscription {
  /** The id of the last event received: pass it as `lastEventId` to resume elsewhere. */
  readonly lastEventId: string | undefined;
  close(): void;
}

const EVENTS = "/api/v1/events";
const TICKET = "/api/v1/auth/sse-ticket";

class Unauthorized extends Error {}

/**
 * Live `userDataUpdated` events for the caller (admins: everyone), reconnecting with the last
 * event id so nothing inside the server's replay window is lost.
 */
export function subscribeUserEvents(options: UserEventsOptions): UserEventsSubscription {
  const base = options.baseUrl ?? globalThis.location?.origin ?? "";
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  let lastEventId = options.lastEventId;
  let delay = options.retryMs ?? 3000;
  const maxDelay = options.maxRetryMs ?? 30_000;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const aborter = new AbortController();
  let source: EventSource | undefined;

  const token = () => (typeof options.token === "function" ? options.token() : options.token);
  const deliver = (data: string, id: string | undefined) => {
    if (id) lastEventId = id;
    let event: UserDataUpdated;
    try {
      event = JSON.parse(data) as UserDataUpdated;
    } catch (err) {
      return options.onError?.(err);
    }
    options.onEvent(event, id ?? "");
  };
  const serverClosed = (data: string) => {
    let reason = "";
    try {
      reason = String((JSON.parse(data) as { reason?: unknown }).reason ?? "");
    } catch {}
    options.onServerClose?.(reason);
  };
  const opened = () => {
    delay = options.retryMs ?? 3000;
    options.onOpen?.();
  };
  const failed = (err: unknown) => {
    if (closed) return;
    if (err instanceof Unauthorized) {
      closed = true;
      options.onUnauthorized?.();
      return;
    }
    options.onError?.(err);
    if (closed) return;
    timer = setTimeout(() => {
      if (closed) return;
      options.onReconnecting?.();
      connect();
    }, delay);
    delay = Math.min(delay * 2, maxDelay);
  };

  async function overFetch() {
    const headers: Record<string, string> = { accept: "text/event-stream" };
    const t = token();
    if (t) headers.authorization = `Bearer ${t}`;
    if (lastEventId) headers["last-event-id"] = lastEventId;
    const res = await doFetch(`${base}${EVENTS}`, { headers, signal: aborter.signal });
    if (res.status === 401) throw new Unauthorized();
    if (!res.ok || !res.body) throw new Error(`event stream answered ${res.status}`);
    opened();
    const frames = res.body
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(new EventSourceParserStream({ onRetry: (ms) => (delay = ms) }));
    for await (const frame of frames) {
      if (frame.event === "userDataUpdated") deliver(frame.data, frame.id);
      else if (frame.event === "close") serverClosed(frame.data);
      if (closed) return;
    }
    throw new Error("event stream ended");
  }

  async function overEventSource() {
    const headers: Record<string, string> = {};
    const t = token();
    if (t) headers.authorization = `Bearer ${t}`;
    const res = await doFetch(`${base}${TICKET}`, { headers, signal: aborter.signal });
    if (res.status === 401) throw new Unauthorized();
    if (!res.ok) throw new Error(`ticket answered ${res.status}`);
    const { data } = (await res.json()) as { data: { ticket: string } };
    if (closed) return;
    const query = new URLSearchParams({ ticket: data.ticket });
    if (lastEventId) query.set("lastEventId", lastEventId);
    const es = new EventSource(`${base}${EVENTS}?${query}`);
    source = es;
    es.addEventListener("open", opened);
    es.addEventListener("userDataUpdated", (e) => deliver(e.data, e.lastEventId));
    es.addEventListener("close", (e) => serverClosed(e.data));
    es.addEventListener("error", () => {
      if (source !== es) return;
      // EventSource retries by itself (sending Last-Event-ID) while the ticket is valid; once
      // it gives up (CLOSED, e.g. the ticket expired) a fresh ticket is needed.
      if (es.readyState === EventSource.CLOSED) {
        source = undefined;
        failed(new Error("event stream closed"));
      } else options.onError?.(new Error("event stream interrupted; the browser is retrying"));
    });
  }

  function connect() {
    if (closed) return;
    const run = options.transport === "eventsource" ? overEventSource : overFetch;
    run().catch(failed);
  }

  connect();
  return {
    get lastEventId() {
      return lastEventId;
    },
    close() {
      closed = true;
      clearTimeout(timer);
      aborter.abort();
      source?.close();
      source = undefined;
    },
  };
}
