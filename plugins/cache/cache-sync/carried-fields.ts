/**
 * Fields an entry carries for another plugin: write-behind's "latest" times (users.lastSeenAt),
 * queued for MongoDB but kept in the cached entry itself, so a hit is one GET of the entry alone
 * (docs/WRITE-BEHIND.md, "Readers see the change at once").
 *
 * The entry holds them as the API shape does (ISO-8601 strings, which order as the times do).
 * What keeps a queued time in the entry once its change is acknowledged:
 * - the queue raises the live entry after its overlay write (`CollectionEngine.raiseLatest`), and
 *   deletes a fill's lease it finds there (that fill may have read the overlay before the change);
 * - a fill takes the overlay as it read it beside its lease, before its MongoDB read;
 * - every versioned write (fill, write-through) is refused by a live entry holding a later time,
 *   and is written again with it (set-if-newer's `carried`).
 */
export interface CarriedFields {
  /** The declared "latest" fields. */
  readonly fields: readonly string[];
  /** The key of `id`'s queued times (write-behind's overlay: a JSON object of epoch-ms strings). */
  companionKey(id: string): string;
}

type Doc = Record<string, unknown>;

/** The document's carried values as set-if-newer compares them: ISO strings, "" for none. */
export function carriedTimes(doc: Doc, fields: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fields) {
    const v = doc[f];
    out[f] = typeof v === "string" ? v : "";
  }
  return out;
}

/** Raises `doc`'s carried fields (in place) to the times queued in `overlay` (its raw JSON). */
export function takeQueued(
  doc: Doc,
  overlay: string | null | undefined,
  fields: readonly string[],
) {
  if (!overlay) return;
  let queued: unknown;
  try {
    queued = JSON.parse(overlay);
  } catch {
    return; // Unreadable: MongoDB's value, at most one flush behind (as before).
  }
  if (!queued || typeof queued !== "object") return;
  for (const f of fields) {
    const ms = Number((queued as Doc)[f]);
    if (!Number.isFinite(ms)) continue;
    const current = doc[f];
    if (typeof current === "string" && Date.parse(current) >= ms) continue;
    doc[f] = new Date(ms).toISOString();
  }
}

/** Raises `doc`'s carried fields (in place) to later ones of `held` (another entry); true if any. */
export function takeLater(doc: Doc, held: Doc, fields: readonly string[]): boolean {
  let raised = false;
  for (const f of fields) {
    const later = held[f];
    const current = doc[f];
    if (typeof later === "string" && (typeof current !== "string" || later > current)) {
      doc[f] = later;
      raised = true;
    }
  }
  return raised;
}
