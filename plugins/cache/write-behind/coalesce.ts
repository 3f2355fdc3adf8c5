import type { StreamEntry } from "../../../src/core/ports/queue-store";
import type { Declared } from "./declarations";

/** One queued change as the stream holds it. */
export interface QueuedChange {
  collection: string;
  id: string;
  /** Counter amounts. */
  add: Record<string, number>;
  /** "Latest" fields, epoch ms. */
  max: Record<string, number>;
}

export function encodeChange(c: QueuedChange): Record<string, string> {
  return { c: c.collection, i: c.id, p: JSON.stringify({ a: c.add, m: c.max }) };
}

/** null for an entry this version cannot read (it is acknowledged and skipped, and counted). */
export function decodeChange(e: StreamEntry): QueuedChange | null {
  const { c, i, p } = e.fields;
  if (!c || !i || !p) return null;
  try {
    const { a, m } = JSON.parse(p) as { a?: Record<string, number>; m?: Record<string, number> };
    return { collection: c, id: i, add: a ?? {}, max: m ?? {} };
  } catch {
    return null;
  }
}

/** Every queued change of one document in one batch, folded into one step. */
export interface Coalesced {
  collection: string;
  id: string;
  add: Record<string, number>;
  max: Record<string, number>;
  /** Smallest and largest stream id of the folded entries. */
  minId: string;
  maxId: string;
  entries: number;
}

/**
 * Folds a batch per document: counters summed, latest times maxed. Entries of undeclared
 * collections or fields are dropped (returned in `skipped`): a queue written by a newer or older
 * deployment must not write fields this one does not own.
 */
export function coalesce(
  batch: readonly StreamEntry[],
  declared: ReadonlyMap<string, Declared>,
): { docs: Coalesced[]; skipped: number } {
  const byDoc = new Map<string, Coalesced>();
  let skipped = 0;
  for (const entry of batch) {
    const change = decodeChange(entry);
    const spec = change && declared.get(change.collection);
    if (!change || !spec) {
      skipped++;
      continue;
    }
    const k = `${change.collection}\u0000${change.id}`;
    let doc = byDoc.get(k);
    if (!doc) {
      doc = {
        collection: change.collection,
        id: change.id,
        add: {},
        max: {},
        minId: entry.id,
        maxId: entry.id,
        entries: 0,
      };
      byDoc.set(k, doc);
    }
    doc.entries++;
    if (compareIds(entry.id, doc.minId) < 0) doc.minId = entry.id;
    if (compareIds(entry.id, doc.maxId) > 0) doc.maxId = entry.id;
    for (const [f, n] of Object.entries(change.add))
      if (spec.counters.includes(f) && Number.isSafeInteger(n)) doc.add[f] = (doc.add[f] ?? 0) + n;
    for (const [f, t] of Object.entries(change.max))
      if (spec.latest.includes(f) && Number.isFinite(t)) doc.max[f] = Math.max(doc.max[f] ?? t, t);
  }
  return { docs: [...byDoc.values()], skipped };
}

export function compareIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(Number) as [number, number];
  const [bm, bs] = b.split("-").map(Number) as [number, number];
  return am - bm || as - bs;
}
