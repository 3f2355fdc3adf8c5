import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Read-your-writes (SPEC §8), request-scoped: the version floor a read presented
 * (`X-Min-Version`), which no cache layer may serve below, and the versions this request's
 * writes were acknowledged with (for the `ETag` of the response). Set by the read-your-writes
 * plugin's middleware; read here, on the engine's read path, and by the near cache.
 */
export interface ReadScope {
  /** Entries older than this are not served from a cache layer: the read goes to MongoDB. */
  floor?: number;
  /** Documents written by this request: `collection`, hex id, acknowledged version. */
  written: { collection: string; id: string; version: number }[];
}

export const readScope = new AsyncLocalStorage<ReadScope>();

/** True when a cached entry is older than the version the current request presented. */
export function belowFloor(entry: { version: number }): boolean {
  const floor = readScope.getStore()?.floor;
  return floor !== undefined && entry.version < floor;
}
