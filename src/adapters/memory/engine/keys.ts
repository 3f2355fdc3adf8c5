import { Binary, ObjectId } from "bson";
import { isPlainObject } from "./clone";

/**
 * A string that is equal for two values exactly when MongoDB considers them the same index key
 * (numbers of any width compare by value; missing and null are the same key).
 */
export function canonicalKey(value: unknown): string {
  if (value === undefined || value === null) return "null";
  switch (typeof value) {
    case "number":
      return `n:${Object.is(value, -0) ? 0 : value}`;
    case "bigint":
      return `n:${value}`;
    case "string":
      return `s:${JSON.stringify(value)}`;
    case "boolean":
      return `b:${value}`;
    case "object":
      break;
    default:
      return `?:${String(value)}`;
  }
  if (value instanceof ObjectId) return `o:${value.toHexString()}`;
  if (value instanceof Date) return `d:${value.getTime()}`;
  if (Array.isArray(value)) return `a:[${value.map(canonicalKey).join(",")}]`;
  if (value instanceof Binary) return `x:${value.toString("hex")}`;
  if (value instanceof RegExp) return `r:${value.toString()}`;
  if (isPlainObject(value)) {
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}:${canonicalKey(v)}`)
      .join(",")}}`;
  }
  // Long, Decimal128, Int32, Double, Timestamp …: their string forms are value-based.
  const bsontype = (value as { _bsontype?: unknown })._bsontype;
  if (bsontype === "Long" || bsontype === "Int32" || bsontype === "Double")
    return `n:${String(value)}`;
  return `t:${String(bsontype)}:${String(value)}`;
}

/** Value at a dotted path (no array traversal: index keys over arrays are expanded by the caller). */
export function getPath(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

export function hasPath(doc: unknown, path: string): boolean {
  let cur: unknown = doc;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object" || !(part in cur)) return false;
    cur = (cur as Record<string, unknown>)[part];
  }
  return true;
}
