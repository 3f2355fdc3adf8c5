import { StoreUnavailableError } from "../../core/errors";
import type { BusMessage, EventBus, Unsubscribe } from "../../core/ports/event-bus";

type Handler = (msg: BusMessage) => void;

/** `<ms>-<seq>` as Redis Streams shape it; compared as numbers, part by part. */
type StreamId = readonly [ms: number, seq: number];

interface Topic {
  /** Ring buffer of the newest `maxLen` messages, oldest at `start`. */
  ring: (BusMessage & { key: StreamId })[];
  start: number;
  last: StreamId;
  handlers: Set<Handler>;
}

/**
 * The embedded event bus: a bounded per-topic log with Redis-Stream-shaped ids, and delivery on
 * a microtask so a publisher never runs subscriber code inline (as with Redis, where delivery
 * comes back over the socket). Single process: it fans out to this instance only.
 */
export class MemoryEventBus implements EventBus {
  readonly kind = "memory";
  private readonly maxLen: number;
  private readonly onError?: (err: Error) => void;
  private readonly topics = new Map<string, Topic>();
  private closed = false;

  constructor(opts: { maxLen: number; onError?: (err: Error) => void }) {
    if (!(opts.maxLen >= 1)) throw new RangeError(`maxLen must be at least 1, got ${opts.maxLen}`);
    this.maxLen = Math.floor(opts.maxLen);
    this.onError = opts.onError;
  }

  async publish(topic: string, payload: string): Promise<string> {
    this.assertOpen();
    const t = this.topic(topic);
    const key = nextId(t.last);
    t.last = key;
    const msg = { id: `${key[0]}-${key[1]}`, payload };
    if (t.ring.length < this.maxLen) t.ring.push({ ...msg, key });
    else {
      t.ring[t.start] = { ...msg, key };
      t.start = (t.start + 1) % this.maxLen;
    }
    for (const handler of t.handlers) {
      queueMicrotask(() => {
        // Unsubscribed between publish and delivery: the handler asked for no more messages.
        if (!t.handlers.has(handler)) return;
        try {
          handler({ ...msg });
        } catch (err) {
          this.onError?.(err instanceof Error ? err : new Error(String(err)));
        }
      });
    }
    return msg.id;
  }

  async subscribe(topic: string, handler: Handler): Promise<Unsubscribe> {
    this.assertOpen();
    const handlers = this.topic(topic).handlers;
    // A distinct wrapper per call, so the same function subscribed twice is two subscriptions.
    const registered: Handler = (msg) => handler(msg);
    handlers.add(registered);
    return async () => {
      handlers.delete(registered);
    };
  }

  async since(topic: string, afterId: string, limit: number): Promise<BusMessage[]> {
    this.assertOpen();
    const after = parseId(afterId);
    const t = this.topics.get(topic);
    if (!after || !t || !(limit > 0)) return [];
    const out: BusMessage[] = [];
    for (let i = 0; i < t.ring.length && out.length < limit; i++) {
      const m = t.ring[(t.start + i) % t.ring.length];
      if (compare(m.key, after) > 0) out.push({ id: m.id, payload: m.payload });
    }
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.topics.values()) t.handlers.clear();
  }

  private topic(name: string): Topic {
    let t = this.topics.get(name);
    if (!t) {
      t = { ring: [], start: 0, last: [0, 0], handlers: new Set() };
      this.topics.set(name, t);
    }
    return t;
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreUnavailableError("redis", new Error("event bus closed"));
  }
}

/** Like XADD `*`: the clock in ms, a sequence within the same ms, never going backwards. */
function nextId(last: StreamId): StreamId {
  const now = Date.now();
  return now > last[0] ? [now, 0] : [last[0], last[1] + 1];
}

function parseId(id: string): StreamId | null {
  const m = /^(\d+)-(\d+)$/.exec(id);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

function compare(a: StreamId, b: StreamId): number {
  return a[0] - b[0] || a[1] - b[1];
}
