import { ObjectId } from "bson";
import type { BulkUpdateOne, Update } from "../../../src/core/ports/document-store";
import type { Coalesced } from "./coalesce";
import { BOOKKEEPING_FIELD, type Declared } from "./declarations";
import { sortableId } from "./keys";

const WB = BOOKKEEPING_FIELD;

/** Both on in production; a mutation test switches one off to show its check catches it. */
export interface FlushProtections {
  /** The exactly-once guard on `_wb.last`. */
  guard: boolean;
  /** `version` moved with the flush, so the cache entry follows it. */
  versionBump: boolean;
}

/**
 * One document's folded changes as one MongoDB update (a pipeline, so it computes from the stored
 * document), applied exactly once:
 *
 * - Idempotent: it matches only while `_wb.last` is below the batch's first stream id, and sets
 *   it to the batch's last. A batch retried after a crash (same entries: one flusher at a time,
 *   and it finishes a batch before reading the next) finds `_wb.last` already there and changes
 *   nothing.
 * - Counters are added, "latest" times raised (never lowered, so an older queued time cannot
 *   overwrite a newer one written through), `_wb.n` records how much of the overlay total is
 *   now in MongoDB (overlay.ts), and `version` moves like with any other write, so the cache's
 *   version rules keep ordering this write against write-throughs.
 * - Nothing else is touched: a write-through of other fields is never overwritten.
 */
export function flushStatement(
  doc: Coalesced,
  spec: Declared,
  gen: string,
  /** Off only in mutation tests (see WriteBehindOptions). */
  protections: FlushProtections = { guard: true, versionBump: true },
): BulkUpdateOne {
  const set: Record<string, unknown> = {};
  for (const [f, n] of Object.entries(doc.add))
    set[f] = { $add: [{ $ifNull: [`$${f}`, 0] }, { $literal: n }] };
  for (const [f, ms] of Object.entries(doc.max)) {
    const at = new Date(ms);
    // $ifNull first: the embedded engine's $max answers null for a missing field.
    set[f] = { $max: [{ $ifNull: [`$${f}`, at] }, { $literal: at }] };
  }
  const sameGen = { $eq: [`$${WB}.g`, { $literal: gen }] };
  const applied: Record<string, unknown> = {};
  for (const f of spec.counters) {
    const n = doc.add[f] ?? 0;
    applied[f] = {
      $cond: [sameGen, { $add: [{ $ifNull: [`$${WB}.n.${f}`, 0] }, { $literal: n }] }, n],
    };
  }
  set[WB] = { g: { $literal: gen }, last: { $literal: sortableId(doc.maxId) }, n: applied };
  if (protections.versionBump) set.version = { $add: [{ $ifNull: ["$version", 0] }, 1] };
  return {
    filter: protections.guard
      ? {
          _id: new ObjectId(doc.id),
          $or: [
            { [`${WB}.last`]: { $exists: false } },
            { [`${WB}.last`]: { $lt: sortableId(doc.minId) } },
          ],
        }
      : { _id: new ObjectId(doc.id) },
    update: [{ $set: set }],
  };
}

/**
 * The same change written straight to MongoDB (Redis unreachable, or the queue full): plain
 * operators, `_wb` untouched, so the overlay arithmetic still holds for every snapshot.
 */
export function directUpdate(add: Record<string, number>, max: Record<string, number>): Update {
  const update: Update = { $inc: { ...add, version: 1 } };
  const dates = Object.entries(max).map(([f, ms]) => [f, new Date(ms)] as const);
  if (dates.length) update.$max = Object.fromEntries(dates);
  return update;
}
