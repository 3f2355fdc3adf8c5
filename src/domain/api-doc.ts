import { ObjectId } from "bson";

/**
 * A stored document in the API shape: `id` (hex) instead of `_id`, ObjectIds as hex strings,
 * Dates as ISO strings, so every item a client sees looks the same as a user does.
 */
export type ApiDoc = { id: string; [field: string]: unknown };

/**
 * `omit` holds field names and dotted paths (`auth.refreshTokens`, `devices.pushToken`): a path
 * goes through sub-documents and arrays of them, as MongoDB's dot notation does. The parts of the
 * document a path goes through are copied, never changed in place: the input may be the stored
 * document another layer still holds.
 */
export function toApiDoc(doc: Record<string, unknown>, omit?: ReadonlySet<string>): ApiDoc {
  const out: ApiDoc = { id: String(scalar(doc._id ?? doc.id)) };
  for (const k in doc) {
    if (k === "_id" || k === "id" || omit?.has(k)) continue;
    out[k] = scalar(doc[k]);
  }
  if (omit) for (const path of nestedPaths(omit)) removePath(out, path, 0);
  return out;
}

function scalar(v: unknown): unknown {
  if (v instanceof ObjectId) return v.toHexString();
  if (v instanceof Date) return v.toISOString();
  return v;
}

// Split once per set: the read path calls this for every entry it serves.
const splitPaths = new WeakMap<ReadonlySet<string>, readonly string[][]>();

function nestedPaths(omit: ReadonlySet<string>): readonly string[][] {
  let paths = splitPaths.get(omit);
  if (!paths) {
    paths = [...omit].filter((f) => f.includes(".")).map((f) => f.split("."));
    splitPaths.set(omit, paths);
  }
  return paths;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" &&
  v !== null &&
  !Array.isArray(v) &&
  !(v instanceof Date) &&
  !(v instanceof ObjectId);

/** Removes `path[i..]` below `parent`, copying each object or array it changes. */
function removePath(parent: Record<string, unknown>, path: readonly string[], i: number): void {
  const key = path[i];
  if (!(key in parent)) return;
  if (i === path.length - 1) {
    delete parent[key];
    return;
  }
  const child = parent[key];
  if (Array.isArray(child)) {
    parent[key] = child.map((item) => {
      if (!isPlainObject(item)) return item;
      const copy = { ...item };
      removePath(copy, path, i + 1);
      return copy;
    });
  } else if (isPlainObject(child)) {
    const copy = { ...child };
    removePath(copy, path, i + 1);
    parent[key] = copy;
  }
}
