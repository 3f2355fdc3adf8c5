/**
 * Malformed filters, sorts and projections that mingo evaluates anyway (matching nothing, or
 * everything) and mongod refuses: the engine refuses them with mongod's error before mingo runs.
 */
import type { Document } from "bson";
import { isPlainObject } from "./clone";
import { badValue, EngineError } from "./errors";
import { describeValue } from "./type-names";

/** `$type` aliases and numbers mongod knows. */
const TYPE_ALIASES = new Set([
  "double",
  "string",
  "object",
  "array",
  "binData",
  "undefined",
  "objectId",
  "bool",
  "date",
  "null",
  "regex",
  "dbPointer",
  "javascript",
  "symbol",
  "javascriptWithScope",
  "int",
  "timestamp",
  "long",
  "decimal",
  "minKey",
  "maxKey",
  "number",
]);
const TYPE_NUMBERS = new Set([
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, -1, 127,
]);

export function checkFilter(filter: unknown): void {
  if (!isPlainObject(filter)) return;
  for (const [key, value] of Object.entries(filter)) {
    if (key === "$and" || key === "$or" || key === "$nor") {
      if (!Array.isArray(value) || value.length === 0)
        throw badValue("$and/$or/$nor must be a nonempty array");
      for (const part of value) {
        if (!isPlainObject(part)) throw badValue(`${key} argument's entries must be objects`);
        checkFilter(part);
      }
      continue;
    }
    if (key === "$text") throw notImplementedQuery("$text");
    if (key.startsWith("$")) continue;
    if (isPlainObject(value)) checkOperators(value);
  }
}

/** Queries that need a text or geospatial index, which the engine does not build. */
const INDEX_QUERIES = new Set(["$near", "$nearSphere", "$geoWithin", "$geoIntersects"]);

function notImplementedQuery(op: string): EngineError {
  return new EngineError(238, "NotImplemented", `${op} is not supported by the embedded engine`);
}

function checkOperators(condition: Document): void {
  for (const [op, arg] of Object.entries(condition)) {
    if (INDEX_QUERIES.has(op)) throw notImplementedQuery(op);
    switch (op) {
      case "$type":
        for (const t of Array.isArray(arg) ? arg : [arg]) {
          if (typeof t === "string" ? !TYPE_ALIASES.has(t) : !TYPE_NUMBERS.has(Number(t)))
            throw badValue(
              typeof t === "string"
                ? `Unknown type name alias: ${t}`
                : `Invalid numerical type code: ${String(t)}`,
            );
        }
        break;
      case "$mod":
        if (!Array.isArray(arg) || arg.length < 2)
          throw badValue("malformed mod, not enough elements");
        if (arg.length > 2) throw badValue("malformed mod, too many elements");
        if (arg.some((n) => typeof n !== "number"))
          throw badValue("malformed mod, divisor and remainder must be numbers");
        if (arg[0] === 0) throw badValue("divisor cannot be 0");
        break;
      case "$size":
        if (typeof arg !== "number" || !Number.isInteger(arg))
          throw badValue(
            `Failed to parse $size. Expected a number in: $size: ${describeValue(arg)}`,
          );
        if (arg < 0) throw badValue("Failed to parse $size. Expected a non-negative number");
        break;
      case "$in":
      case "$nin":
      case "$all":
        if (!Array.isArray(arg)) throw badValue(`${op} needs an array`);
        break;
      case "$not":
        if (!isPlainObject(arg) && !(arg instanceof RegExp))
          throw badValue("$not needs a regex or a document");
        if (isPlainObject(arg)) checkOperators(arg);
        break;
      case "$elemMatch":
        if (!isPlainObject(arg)) throw badValue("$elemMatch needs an Object");
        break;
    }
  }
}

/** A sort document: every value 1 or -1, as mongod requires (`$meta` sorts are not implemented). */
export function checkSort(sort: unknown): void {
  if (sort === undefined || sort === null) return;
  if (!isPlainObject(sort)) throw badValue("sort must be an object");
  for (const value of Object.values(sort)) {
    if (isPlainObject(value) && "$meta" in value)
      throw new EngineError(
        238,
        "NotImplemented",
        "$meta sorts are not supported by the embedded engine",
      );
    if (value !== 1 && value !== -1)
      throw new EngineError(
        15975,
        "Location15975",
        "$sort key ordering must be 1 (for ascending) or -1 (for descending)",
      );
  }
}

/** A find projection may not mix inclusion and exclusion (except `_id: 0`). */
export function checkProjection(projection: unknown): void {
  if (!isPlainObject(projection)) return;
  let mode: "inclusion" | "exclusion" | undefined;
  for (const [field, value] of Object.entries(projection)) {
    if (field === "_id") continue;
    const kind =
      value === 0 || value === false
        ? "exclusion"
        : value === 1 || value === true || !isPlainObject(value)
          ? "inclusion"
          : Object.keys(value).some((k) => k === "$slice" || k === "$elemMatch")
            ? undefined
            : "inclusion";
    if (!kind) continue;
    if (mode && kind !== mode)
      throw mode === "inclusion"
        ? new EngineError(
            31254,
            "Location31254",
            `Cannot do exclusion on field ${field} in inclusion projection`,
          )
        : new EngineError(
            31253,
            "Location31253",
            `Cannot do inclusion on field ${field} in exclusion projection`,
          );
    mode = kind;
  }
}
