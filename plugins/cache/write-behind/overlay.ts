import { BOOKKEEPING_FIELD, type Declared } from "./declarations";

/**
 * How readers see a queued change at once without touching the versioned cache entry.
 *
 * Beside each changed document's entry, an overlay (a JSON string key) holds, per counter, the running total of
 * every change ever queued for it (`E`, only grows), and per "latest" field the latest queued
 * time. The flush records in the document, in the same MongoDB update as the change, how much of
 * that running total it has applied (`_wb.n`, with the overlay's `gen`). So any snapshot of the
 * document — the cached entry at whatever version, or MongoDB's — says by itself which part of
 * the overlay it already contains:
 *
 *     value = snapshot.value + max(0, E − snapshot._wb.n)     (same gen; other gen: n = 0)
 *
 * exact whichever version the cache holds, whenever the flush ran, and without ever writing the
 * versioned entry (its version moves only with MongoDB writes). A negative difference (a change
 * whose overlay step never ran, an overlay lost) shows nothing pending: readers then see MongoDB's
 * value, at most one flush behind, and MongoDB's total is unaffected.
 */
export interface Bookkeeping {
  /** The overlay generation `n` counts in. */
  g: string;
  /** The last stream id applied to this document (sortableId). */
  last: string;
  /** Per counter: the overlay total applied so far. */
  n: Record<string, number>;
}

export function bookkeepingOf(doc: Record<string, unknown>): Bookkeeping | undefined {
  const wb = doc[BOOKKEEPING_FIELD];
  return wb && typeof wb === "object" ? (wb as Bookkeeping) : undefined;
}

/**
 * An overlay as read beside the entry (`get`/`mget`): null when absent, and when it cannot be
 * read as one (shown as nothing queued: MongoDB's value, at most one flush behind).
 */
export function parseOverlay(raw: string | null): Record<string, string> | null {
  if (raw === null) return null;
  try {
    const o: unknown = JSON.parse(raw);
    return o && typeof o === "object" && !Array.isArray(o) ? (o as Record<string, string>) : null;
  } catch {
    return null;
  }
}

/** Counter values still in the queue for this snapshot of the document. */
export function pendingCounts(
  doc: Record<string, unknown>,
  overlay: Record<string, string> | null,
  spec: Declared,
): Record<string, number> {
  const out: Record<string, number> = {};
  if (!overlay) return out;
  const wb = bookkeepingOf(doc);
  const sameGen = wb?.g === overlay.gen;
  for (const f of spec.counters) {
    const total = Number(overlay[f] ?? 0);
    const applied = sameGen ? Number(wb?.n?.[f] ?? 0) : 0;
    const pending = total - applied;
    if (pending > 0) out[f] = pending;
  }
  return out;
}

/**
 * The document as a reader should see it: queued counter changes added, later queued times
 * taken, the bookkeeping removed. Dates stay Dates (raw documents) or ISO strings (API shape).
 */
export function withOverlay<T extends Record<string, unknown>>(
  doc: T,
  overlay: Record<string, string> | null,
  spec: Declared,
): T {
  // Nothing queued (the common read): no copy, and none at all without bookkeeping to drop.
  if (!overlay) return withoutBookkeeping(doc);
  const out: Record<string, unknown> = { ...doc };
  delete out[BOOKKEEPING_FIELD];
  for (const [f, n] of Object.entries(pendingCounts(doc, overlay, spec)))
    out[f] = numberOr0(out[f]) + n;
  for (const f of spec.latest) {
    const queued = Number(overlay[f]);
    if (!Number.isFinite(queued)) continue;
    const current = out[f];
    const currentMs =
      current instanceof Date
        ? current.getTime()
        : typeof current === "string"
          ? Date.parse(current)
          : Number.NaN;
    if (Number.isFinite(currentMs) && currentMs >= queued) continue;
    out[f] = typeof current === "string" ? new Date(queued).toISOString() : new Date(queued);
  }
  return out as T;
}

/** Removes the bookkeeping only (when the overlay cannot be read). */
export function withoutBookkeeping<T extends Record<string, unknown>>(doc: T): T {
  if (!(BOOKKEEPING_FIELD in doc)) return doc;
  const out: Record<string, unknown> = { ...doc };
  delete out[BOOKKEEPING_FIELD];
  return out as T;
}

const numberOr0 = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
