import { LRUCache } from "lru-cache";
import type { CachedDoc } from "../cache-sync/collection";
import type { NearLayer } from "../cache-sync/near-layer";
import { readScope } from "../cache-sync/read-floor";

interface Entry {
  json: string;
  version: number;
}

export interface NearStoreOptions {
  maxEntries: number;
  maxBytes: number;
  ttlMs: number;
  /** Serve only reads that carry a version token (collections holding balances: users). */
  requireToken: boolean;
  /** False while the feed is unhealthy: the store neither serves nor takes entries. */
  healthy: () => boolean;
  counters: { hit(): void; miss(): void; bypass(): void };
  /** Tells every instance (this one included) that `id` changed in place (the feed). */
  announceInPlace: (id: string) => Promise<void>;
}

/** Ids touched by the feed, remembered to refuse fills that began before (bounded). */
const TOUCHED_MAX = 100_000;

/**
 * One collection's in-process LRU, bounded by entries and bytes (the JSON kept per entry, parsed
 * per hit so no caller shares an object). Entries are dropped by the feed (`apply`), never
 * trusted past `ttlMs`, and a fill that read a lower layer before the feed touched its id is
 * refused (`ticket`/`offer`), so an older read cannot land after a newer write's event.
 */
export class NearStore<T extends CachedDoc> implements NearLayer<T> {
  private readonly entries: LRUCache<string, Entry>;
  private readonly touched: LRUCache<string, number>;
  private seq = 0;
  /** The newest touch the `touched` map forgot: fills that began before it are refused. */
  private forgotten = 0;

  constructor(private readonly opts: NearStoreOptions) {
    this.entries = new LRUCache<string, Entry>({
      max: opts.maxEntries,
      maxSize: opts.maxBytes,
      sizeCalculation: (e) => e.json.length * 2 + 64,
      ttl: opts.ttlMs,
    });
    this.touched = new LRUCache<string, number>({
      max: TOUCHED_MAX,
      dispose: (seq) => {
        if (seq > this.forgotten) this.forgotten = seq;
      },
    });
  }

  get(id: string): T | undefined {
    if (
      !this.opts.healthy() ||
      (this.opts.requireToken && readScope.getStore()?.floor === undefined)
    ) {
      this.opts.counters.bypass();
      return undefined;
    }
    const e = this.entries.get(id);
    if (!e) {
      this.opts.counters.miss();
      return undefined;
    }
    this.opts.counters.hit();
    return JSON.parse(e.json) as T;
  }

  ticket(): number {
    return this.seq;
  }

  offer(doc: T, ticket: number): void {
    if (!this.opts.healthy()) return;
    const touched = this.touched.get(doc.id) ?? this.forgotten;
    if (touched > ticket) return;
    const current = this.entries.peek(doc.id);
    if (current && current.version >= doc.version) return;
    this.entries.set(doc.id, { json: JSON.stringify(doc), version: doc.version });
  }

  /**
   * The feed says `id` is at `version` now (a delete: the largest version there is), or that it
   * changed `inPlace` at the version it has: dropped whatever version it held.
   */
  apply(id: string, version: number, inPlace = false): void {
    this.touched.set(id, ++this.seq);
    const current = this.entries.peek(id);
    if (current && (inPlace || current.version < version)) this.entries.delete(id);
  }

  changedInPlace(id: string): Promise<void> {
    return this.opts.announceInPlace(id);
  }

  /** Everything forgotten, and every fill in flight refused (a trimmed feed, an unknown gap). */
  clear(): void {
    this.entries.clear();
    this.forgotten = ++this.seq;
  }

  /** What the layer holds for `id` (the observatory's re-check); null when nothing. */
  versionOf(id: string): number | null {
    return this.entries.peek(id)?.version ?? null;
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.entries.calculatedSize };
  }
}
