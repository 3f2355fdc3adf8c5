/**
 * An in-process layer in front of Redis for one collection (plugins/cache/near-cache), as the engine's
 * single-entry reads consult it. The engine knows only this shape; the near cache owns the rest.
 */
export interface NearLayer<T> {
  /** The entry if this layer may serve it to the current read, else undefined. */
  get(id: string): T | undefined;
  /** Taken before a lower layer is read: `offer` refuses the entry if the feed touched it since. */
  ticket(): number;
  /** A document a lower layer just answered with; stored unless the feed said it is older. */
  offer(doc: T, ticket: number): void;
  /**
   * The entry of `id` changed in place at its version (write-behind raised a carried time in
   * Redis): dropped here at once and, through the feed, on every instance, as for a new version.
   */
  changedInPlace(id: string): Promise<void>;
}
