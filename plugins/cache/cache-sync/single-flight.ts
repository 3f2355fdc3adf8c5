/** Called by a load right before it issues its MongoDB read: from then on it takes no joiners. */
export type Seal = () => void;

interface Flight<T> {
  promise: Promise<T>;
  open: boolean;
}

/**
 * One in-flight load per key (bentocache's per-key lock): N concurrent misses on one user cause
 * one MongoDB read, and all N get its result.
 *
 * The rule that makes it safe across instances: a load takes joiners only until it seals, which
 * it does right before issuing its MongoDB read. Everyone who joined arrived before that read
 * began, so whatever it returns was current when they arrived; a reader arriving later — maybe
 * after a write acknowledged on another instance — starts (or joins) the next load instead.
 */
export class SingleFlight<T> {
  private readonly open = new Map<string, Flight<T>>();

  /** `sealOnRead` false is the mutation test's switch: joiners accepted until the load ends. */
  constructor(private readonly sealOnRead: () => boolean = () => true) {}

  do(key: string, load: (seal: Seal) => Promise<T>): Promise<T> {
    const running = this.open.get(key);
    if (running) return running.promise;
    const flight = { open: true } as Flight<T>;
    const close = () => {
      if (!flight.open) return;
      flight.open = false;
      if (this.open.get(key) === flight) this.open.delete(key);
    };
    this.open.set(key, flight);
    flight.promise = load(() => {
      if (this.sealOnRead()) close();
    }).finally(close);
    return flight.promise;
  }

  /** True while a load of `key` takes joiners: a `do` now would join it rather than start one. */
  has(key: string): boolean {
    return this.open.has(key);
  }

  /** Loads that still take joiners (tests). */
  get joinable(): number {
    return this.open.size;
  }
}
