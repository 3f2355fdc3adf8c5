/** One parsed SSE block: fields as the EventSource algorithm reads them, comments kept for tests. */
export interface SseFrame {
  event?: string;
  id?: string;
  data?: string;
  retry?: string;
  comments: string[];
  /** When the block was parsed (performance.now()). */
  at: number;
}

/**
 * Reads a text/event-stream body the way a browser would (fields split on the first ":", blocks
 * on a blank line), so the suites assert on what EventSource would see.
 */
export class SseReader {
  readonly frames: SseFrame[] = [];
  readonly ended: Promise<void>;
  private consumed = 0;
  private wake: (() => void) | undefined;
  private reader: ReadableStreamDefaultReader<Uint8Array>;
  private isEnded = false;

  constructor(readonly response: Response) {
    if (!response.body) throw new Error("response has no body");
    this.reader = response.body.getReader();
    this.ended = this.pump();
  }

  get done(): boolean {
    return this.isEnded;
  }

  private async pump(): Promise<void> {
    const decoder = new TextDecoder();
    let buf = "";
    try {
      for (;;) {
        const { done, value } = await this.reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
        let cut = buf.indexOf("\n\n");
        while (cut !== -1) {
          this.frames.push(parseBlock(buf.slice(0, cut)));
          buf = buf.slice(cut + 2);
          cut = buf.indexOf("\n\n");
        }
        this.wake?.();
      }
    } catch {
      // cancelled by the test or reset by the server: either way the stream is over
    } finally {
      this.isEnded = true;
      this.wake?.();
    }
  }

  /** The next unconsumed frame matching `pred`, skipping (and consuming) the ones that do not. */
  async next(pred: (f: SseFrame) => boolean, timeoutMs = 2000): Promise<SseFrame> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      while (this.consumed < this.frames.length) {
        const f = this.frames[this.consumed++] as SseFrame;
        if (pred(f)) return f;
      }
      if (this.isEnded) throw new Error("stream ended before a matching frame");
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no matching frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  nextEvent(timeoutMs?: number): Promise<SseFrame> {
    return this.next((f) => f.event === "userDataUpdated", timeoutMs);
  }

  /** userDataUpdated frames received so far (consumed or not). */
  events(): SseFrame[] {
    return this.frames.filter((f) => f.event === "userDataUpdated");
  }

  async close(): Promise<void> {
    await this.reader.cancel().catch(() => {});
    await this.ended;
  }
}

function parseBlock(block: string): SseFrame {
  const frame: SseFrame = { comments: [], at: performance.now() };
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) {
      frame.comments.push(line.slice(1).trim());
      continue;
    }
    const i = line.indexOf(":");
    const field = i === -1 ? line : line.slice(0, i);
    const value = i === -1 ? "" : line.slice(i + 1).replace(/^ /, "");
    if (field === "data") data.push(value);
    else if (field === "event" || field === "id" || field === "retry") frame[field] = value;
  }
  if (data.length) frame.data = data.join("\n");
  return frame;
}

/** Opens `GET /api/v1/events` on a served instance. */
export async function openEvents(
  baseUrl: string,
  opts: { token?: string; ticket?: string; cookie?: string; lastEventId?: string } = {},
): Promise<SseReader> {
  const headers: Record<string, string> = { accept: "text/event-stream" };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.cookie) headers.cookie = opts.cookie;
  if (opts.lastEventId) headers["last-event-id"] = opts.lastEventId;
  const url = new URL("/api/v1/events", baseUrl);
  if (opts.ticket) url.searchParams.set("ticket", opts.ticket);
  const res = await fetch(url, { headers });
  if (res.status !== 200)
    throw new Error(`GET /events answered ${res.status}: ${await res.text()}`);
  const reader = new SseReader(res);
  // The server's first block ("retry" + ": connected") says the subscription is registered.
  await reader.next((f) => f.comments.includes("connected"));
  return reader;
}
