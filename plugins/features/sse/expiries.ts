/** setTimeout's longest delay (~24.8 days); a later deadline is reached in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What expires: a stream whose credential ends. */
export interface Expiring {
  expire(): void;
}

/** One scheduled expiry; `cancel` drops what it holds, so a closed stream is not kept until then. */
export class Expiry {
  constructor(
    readonly at: number,
    public target: Expiring | null,
  ) {}

  cancel(): void {
    this.target = null;
  }
}

type Entry = Expiry;

/**
 * Every stream's credential expiry on one timer (a min-heap by time, the timer armed for the
 * earliest) instead of a timer per stream: 10k idle streams hold 10k small entries, not 10k
 * timers. Each expires at its own time (plus the timer's lateness), never synchronously in `at`.
 */
export class Expiries {
  private heap: Entry[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private armedFor = Number.POSITIVE_INFINITY;

  constructor(private readonly now: () => number = Date.now) {}

  at(atMs: number, target: Expiring): Expiry {
    const entry = new Expiry(atMs, target);
    this.push(entry);
    if (atMs < this.armedFor) this.arm();
    return entry;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    this.heap = [];
  }

  get size(): number {
    return this.heap.length;
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    const now = this.now();
    while (this.heap.length > 0 && (this.heap[0] as Entry).at <= now) {
      const entry = this.pop();
      const target = entry.target;
      entry.target = null;
      target?.expire();
    }
    // Cancelled entries at the top need no timer of their own.
    while (this.heap.length > 0 && (this.heap[0] as Entry).target === null) this.pop();
    if (this.heap.length > 0) this.arm();
  };

  private arm(): void {
    clearTimeout(this.timer);
    const next = (this.heap[0] as Entry).at;
    this.armedFor = next;
    this.timer = setTimeout(this.fire, Math.min(Math.max(0, next - this.now()), MAX_TIMER_MS));
    this.timer.unref?.();
  }

  private push(entry: Entry): void {
    const h = this.heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((h[parent] as Entry).at <= entry.at) break;
      h[i] = h[parent] as Entry;
      i = parent;
    }
    h[i] = entry;
  }

  private pop(): Entry {
    const h = this.heap;
    const top = h[0] as Entry;
    const last = h.pop() as Entry;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && (h[r] as Entry).at < (h[l] as Entry).at ? r : l;
        if ((h[c] as Entry).at >= last.at) break;
        h[i] = h[c] as Entry;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}
