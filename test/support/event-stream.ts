import { type EventSourceMessage, EventSourceParserStream } from "eventsource-parser/stream";

/** A `GET /api/v1/events` stream read as EventSource would, for the history run's subscribers. */
export interface EventStream {
  /** The next `userDataUpdated` event, or null when none arrives within `timeoutMs`. */
  next(timeoutMs: number): Promise<EventSourceMessage | null>;
  close(): Promise<void>;
}

/**
 * Opens the stream on a served instance (bearer token, optional `Last-Event-ID`) and resolves once
 * the server's `: connected` comment says the subscription is registered.
 */
export async function openEventStream(
  baseUrl: string,
  opts: { token: string; lastEventId?: string },
): Promise<EventStream> {
  const headers: Record<string, string> = {
    accept: "text/event-stream",
    authorization: `Bearer ${opts.token}`,
  };
  if (opts.lastEventId) headers["last-event-id"] = opts.lastEventId;
  const abort = new AbortController();
  const res = await fetch(new URL("/api/v1/events", baseUrl), { headers, signal: abort.signal });
  if (res.status !== 200 || !res.body) throw new Error(`GET /events answered ${res.status}`);
  const queue: EventSourceMessage[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  let connected!: () => void;
  const ready = new Promise<void>((r) => {
    connected = r;
  });
  const reader = res.body
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(
      new EventSourceParserStream({
        onComment: (c) => {
          if (c.trim() === "connected") connected();
        },
      }),
    )
    .getReader();
  const pump = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (value.event === "userDataUpdated") queue.push(value);
        wake?.();
      }
    } catch {
      // aborted by close() or reset by the server: the stream is over either way
    } finally {
      ended = true;
      connected();
      wake?.();
    }
  })();
  const close = async () => {
    abort.abort();
    await reader.cancel().catch(() => undefined);
    await pump;
  };
  await ready;
  if (ended) throw new Error("GET /events ended before it was connected");
  return {
    async next(timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      while (queue.length === 0 && !ended) {
        const left = deadline - performance.now();
        if (left <= 0) return null;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
      return queue.shift() ?? null;
    },
    close,
  };
}
