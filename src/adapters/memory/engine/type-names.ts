import { ObjectId } from "bson";
import { isPlainObject } from "./clone";

const NUMERIC_BSON = new Set(["Long", "Int32", "Double", "Decimal128"]);

/** A BSON number of any width (what `$inc`/`$mul` accept on both sides). */
export function isNumeric(value: unknown): boolean {
  if (typeof value === "number" || typeof value === "bigint") return true;
  const bsontype = (value as { _bsontype?: unknown } | null)?._bsontype;
  return typeof bsontype === "string" && NUMERIC_BSON.has(bsontype);
}

/** The BSON type alias the server names in its error messages (`string`, `null`, `int` …). */
export function bsonTypeName(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return "array";
  if (value instanceof Date) return "date";
  if (value instanceof ObjectId) return "objectId";
  if (value instanceof RegExp) return "regex";
  switch (typeof value) {
    case "string":
      return "string";
    case "boolean":
      return "bool";
    case "number":
      return Number.isInteger(value) && Math.abs(value) < 2 ** 31 ? "int" : "double";
    case "bigint":
      return "long";
  }
  const bsontype = (value as { _bsontype?: unknown })._bsontype;
  if (typeof bsontype === "string") {
    const names: Record<string, string> = {
      Int32: "int",
      Long: "long",
      Double: "double",
      Decimal128: "decimal",
      Binary: "binData",
      Timestamp: "timestamp",
    };
    return names[bsontype] ?? bsontype.toLowerCase();
  }
  return isPlainObject(value) ? "object" : typeof value;
}

/** A short shell-like rendering for error messages (`{_id: 1}`, `"a"`, `[ 1, 2 ]`). */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  if (value instanceof ObjectId) return `ObjectId('${value.toHexString()}')`;
  if (value instanceof Date) return `new Date(${value.getTime()})`;
  if (Array.isArray(value)) return `[ ${value.map(describeValue).join(", ")} ]`;
  if (isPlainObject(value)) {
    const parts = Object.entries(value).map(([k, v]) => `${k}: ${describeValue(v)}`);
    return `{${parts.join(", ")}}`;
  }
  return String(value);
}
