import { ObjectId } from "bson";

/**
 * A stored document in the API shape: `id` (hex) instead of `_id`, ObjectIds as hex strings,
 * Dates as ISO strings, so every item a client sees looks the same as a user does.
 */
export type ApiDoc = { id: string; [field: string]: unknown };

export function toApiDoc(doc: Record<string, unknown>, omit?: ReadonlySet<string>): ApiDoc {
  const out: ApiDoc = { id: String(scalar(doc._id ?? doc.id)) };
  for (const k in doc) {
    if (k === "_id" || k === "id" || omit?.has(k)) continue;
    out[k] = scalar(doc[k]);
  }
  return out;
}

function scalar(v: unknown): unknown {
  if (v instanceof ObjectId) return v.toHexString();
  if (v instanceof Date) return v.toISOString();
  return v;
}
