import { addressBucket } from "../../../src/core/client-ip";
import { tooMany } from "../../../src/core/errors";

/** What a refused client is told to wait before opening another stream. */
const RETRY_AFTER_MS = 30_000;

/**
 * Open streams per client address (SSE_MAX_PER_IP). The per-user cap bounds one account; this
 * bounds one address holding sockets with many accounts (or many tickets). Over it the new stream
 * is refused with 429: unlike the per-user cap, evicting an older stream here would let one
 * client close other people's streams behind the same address.
 */
export class AddressSlots {
  private readonly open = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** Takes a slot, or throws 429; the returned function gives it back (once). */
  take(address: string | null): () => void {
    if (!address) return () => {};
    const key = addressBucket(address);
    const n = this.open.get(key) ?? 0;
    if (n >= this.max)
      throw tooMany("Too many event streams from this address", "SSE_LIMIT", RETRY_AFTER_MS);
    this.open.set(key, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(key) ?? 1) - 1;
      if (left > 0) this.open.set(key, left);
      else this.open.delete(key);
    };
  }
}
