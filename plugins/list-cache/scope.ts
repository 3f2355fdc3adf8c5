import { ObjectId } from "bson";

const HEX24 = /^[0-9a-fA-F]{24}$/;

const isObjectId = (v: unknown): v is ObjectId =>
  v instanceof ObjectId ||
  (typeof v === "object" && v !== null && (v as { _bsontype?: unknown })._bsontype === "ObjectId");

/** The owner's lower-case hex id for an ObjectId or a 24-hex string; null for anything else. */
export function ownerHex(v: unknown): string | null {
  if (isObjectId(v)) return v.toHexString();
  if (typeof v === "string" && HEX24.test(v)) return v.toLowerCase();
  return null;
}

/**
 * How one filter value names the owner, for the entry's query string: `{ userId: oid }` and
 * `{ userId: "<hex>" }` match different documents (MongoDB compares types and exact strings), so
 * an entry filled by one must never answer the other, although both live under the same key.
 */
const form = (v: unknown): string => (isObjectId(v) ? "oid" : `str:${v as string}`);

export interface ListScope {
  /** Lower-case hex id of the owner: the cache key's last part. */
  owner: string;
  /** Stable string of the filter's form and the options; an entry answers only an equal one. */
  q: string;
}

const OPTION_KEYS = new Set(["sort", "limit", "skip", "projection"]);

/**
 * The stable query string of a find's options, or null when they hold anything else (such a
 * query is not cached). Sort keeps its key order (it is meaningful); projection is sorted.
 */
function optionsString(options: unknown): string | null {
  if (options === undefined || options === null) return "{}";
  if (typeof options !== "object") return null;
  const o = options as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!OPTION_KEYS.has(k) && o[k] !== undefined) return null;
  const sort = o.sort === undefined ? null : Object.entries(o.sort as Record<string, unknown>);
  const projection =
    o.projection === undefined
      ? null
      : Object.entries(o.projection as Record<string, unknown>).sort(([a], [b]) =>
          a < b ? -1 : a > b ? 1 : 0,
        );
  return JSON.stringify([sort, o.limit ?? null, o.skip ?? null, projection]);
}

/**
 * An owner-scoped list query: a filter with exactly one key, the owner field, whose value is an
 * ObjectId, a 24-hex string, or `{ $in: [...] }` of those all naming the same id (the profile
 * sends `{ userId: { $in: [oid, hex] } }`). Anything else is not cached.
 */
export function listScope(filter: unknown, options: unknown, ownerField: string): ListScope | null {
  if (!filter || typeof filter !== "object" || Array.isArray(filter)) return null;
  const keys = Object.keys(filter);
  if (keys.length !== 1 || keys[0] !== ownerField) return null;
  const value = (filter as Record<string, unknown>)[ownerField];
  let values: unknown[];
  if (ownerHex(value) !== null) {
    values = [value];
  } else if (value && typeof value === "object" && !Array.isArray(value)) {
    const ops = Object.keys(value);
    const $in = (value as { $in?: unknown }).$in;
    if (ops.length !== 1 || ops[0] !== "$in" || !Array.isArray($in) || $in.length === 0)
      return null;
    values = $in;
  } else {
    return null;
  }
  let owner: string | null = null;
  for (const v of values) {
    const hex = ownerHex(v);
    if (hex === null || (owner !== null && hex !== owner)) return null;
    owner = hex;
  }
  const opts = optionsString(options);
  if (owner === null || opts === null) return null;
  const forms = [...new Set(values.map(form))].sort();
  return { owner, q: `${forms.join(",")}|${opts}` };
}

/** Owner ids a filter names directly (equality or `$in`): covers upserts that insert. */
export function ownersInFilter(filter: unknown, ownerField: string): string[] {
  if (!filter || typeof filter !== "object") return [];
  const value = (filter as Record<string, unknown>)[ownerField];
  const hex = ownerHex(value);
  if (hex !== null) return [hex];
  const $in = value && typeof value === "object" ? (value as { $in?: unknown }).$in : undefined;
  return Array.isArray($in) ? $in.map(ownerHex).filter((h): h is string => h !== null) : [];
}

/**
 * Owner ids an update document would give a document: `$set` / `$setOnInsert` of the owner
 * field, or the field of a replacement document.
 */
export function ownersInUpdate(update: unknown, ownerField: string): string[] {
  if (!update || typeof update !== "object") return [];
  const u = update as Record<string, unknown>;
  const out: string[] = [];
  const push = (v: unknown) => {
    const hex = ownerHex(v);
    if (hex !== null) out.push(hex);
  };
  const isOperatorDoc = Object.keys(u).some((k) => k.startsWith("$"));
  if (!isOperatorDoc) push(u[ownerField]);
  for (const op of ["$set", "$setOnInsert"]) {
    const fields = u[op];
    if (fields && typeof fields === "object") push((fields as Record<string, unknown>)[ownerField]);
  }
  return out;
}
