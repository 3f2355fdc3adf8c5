import type { ObjectId } from "bson";
import type { CollectionPort, Doc, Filter } from "../../../src/core/ports/document-store";

/**
 * Walks a collection in `_id` order, `size` documents per round trip, resuming after `after`:
 * bounded memory on any database size, and a position a killed run can restart from.
 */
export async function* inBatches<T extends Doc>(
  coll: CollectionPort<T>,
  size: number,
  opts: { after?: ObjectId; filter?: Filter; projection?: Record<string, 0 | 1> } = {},
): AsyncGenerator<T[]> {
  let last = opts.after;
  for (;;) {
    const batch = await coll.find(
      { ...opts.filter, ...(last ? { _id: { $gt: last } } : {}) },
      {
        sort: { _id: 1 },
        limit: size,
        ...(opts.projection ? { projection: opts.projection } : {}),
      },
    );
    if (batch.length === 0) return;
    yield batch;
    last = (batch[batch.length - 1] as T)._id;
    if (batch.length < size) return;
  }
}
