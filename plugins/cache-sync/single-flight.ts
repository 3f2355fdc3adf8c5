/**
 * One in-flight load per key (bentocache's per-key lock): N concurrent misses on one user cause
 * one MongoDB read, and all N get its result.
 */
export class SingleFlight<T> {
  private readonly inflight = new Map<string, Promise<T>>();

  do(key: string, load: () => Promise<T>): Promise<T> {
    const running = this.inflight.get(key);
    if (running) return running;
    const p = load().finally(() => {
      if (this.inflight.get(key) === p) this.inflight.delete(key);
    });
    this.inflight.set(key, p);
    return p;
  }

  /**
   * After a local write, later readers must not join a load that may have read the older
   * version: they start their own. Readers already waiting began before the write was
   * acknowledged, so the older value is not stale for them.
   */
  forget(key: string): void {
    this.inflight.delete(key);
  }
}
