/**
 * Where mingo's update operators diverge from MongoDB, the engine checks or applies them itself.
 * Each fix is named after the divergence; all are upstream candidates for mingo:
 *
 * - `pushWithModifiers`: mingo's `$push` on a missing field ignores `$slice`/`$sort`/`$position`
 *   and sorts by the first key of a `$sort` document only.
 * - `addToSet`: mingo's `$addToSet` keeps duplicates of `$each` on a missing field, and on an
 *   array already holding duplicates it collapses them and misses a new value.
 * - `refuseOperandTypes`: mingo silently skips `$inc`/`$mul` on a non-number, `$push`/`$addToSet`/
 *   `$pull`/`$pullAll`/`$pop` on a non-array and any write below a scalar, where MongoDB fails
 *   the write (TypeMismatch 14, BadValue 2, PathNotViable 28).
 * - `refuseArrayPaths`: mingo's `$rename` moves an array element (`a.0`) and `$[]`/`$[id]` on a
 *   missing or non-array field is a silent no-op; MongoDB refuses both (BadValue 2).
 * - `currentDate`: mingo's `$currentDate` with `{ $type: "timestamp" }` stores a number; MongoDB
 *   stores a Timestamp.
 *
 * Only plain paths are handled here; positional paths (`$`, `$[]`, `$[id]`) stay with mingo.
 */
import { type Document, Timestamp } from "bson";
import { Aggregator } from "mingo";
import type { AnyObject } from "mingo/types";
import { compare } from "mingo/util";
import { deepClone, isPlainObject } from "./clone";
import { badValue, EngineError } from "./errors";
import { canonicalKey } from "./keys";
import { assignPath, isPlainPath, locate, pathNotViable } from "./paths";
import { bsonTypeName, describeValue, isNumeric } from "./type-names";

/**
 * Test-only: `CACHESYNC_ENGINE_UNPATCHED=1` under NODE_ENV=test leaves every update to mingo
 * alone (and the query fixes of null-paths.ts and array-sort.ts, and the upsert seed's regex rule), so a test can show that the conformance suite catches mingo's divergences. Nothing
 * else reads this variable, and outside tests it has no effect.
 */
export const fixesDisabledForTest =
  process.env.NODE_ENV === "test" && process.env.CACHESYNC_ENGINE_UNPATCHED === "1";

const typeMismatch = (message: string) => new EngineError(14, "TypeMismatch", message);

/** Operators that create the field they name (a scalar on the way refuses them). */
const CREATING = new Set([
  "$set",
  "$setOnInsert",
  "$inc",
  "$mul",
  "$min",
  "$max",
  "$currentDate",
  "$push",
  "$addToSet",
]);

/** Throws MongoDB's error when an operator meets a value of the wrong type. */
export function refuseOperandTypes(doc: Document, modifier: Document): void {
  for (const [op, args] of Object.entries(modifier)) {
    if (!isPlainObject(args)) continue;
    for (const [path, arg] of Object.entries(args)) {
      if ((op === "$inc" || op === "$mul") && !isNumeric(arg)) {
        throw typeMismatch(
          `Cannot ${op === "$inc" ? "increment" : "multiply"} with non-numeric argument: {${path}: ${describeValue(arg)}}`,
        );
      }
      if (!isPlainPath(path)) continue;
      const slot = locate(doc, path);
      if (slot.blockedBy) {
        if (CREATING.has(op)) throw pathNotViable(slot.blockedBy);
        continue;
      }
      if (!slot.exists) continue;
      const current = slot.value;
      const where = `{_id: ${describeValue(doc._id)}}`;
      switch (op) {
        case "$inc":
        case "$mul":
          if (!isNumeric(current))
            throw typeMismatch(
              `Cannot apply ${op} to a value of non-numeric type. ${where} has the field '${slot.key}' of non-numeric type ${bsonTypeName(current)}`,
            );
          break;
        case "$push":
          if (!Array.isArray(current))
            throw badValue(
              `The field '${path}' must be an array but is of type ${bsonTypeName(current)} in document ${where}`,
            );
          break;
        case "$addToSet":
          if (!Array.isArray(current))
            throw badValue(
              `Cannot apply $addToSet to non-array field. Field named '${slot.key}' has non-array type ${bsonTypeName(current)}`,
            );
          break;
        case "$pull":
        case "$pullAll":
          if (!Array.isArray(current)) throw badValue("Cannot apply $pull to a non-array value");
          break;
        case "$pop":
          if (!Array.isArray(current))
            throw typeMismatch(
              `Path '${path}' contains an element of non-array type '${bsonTypeName(current)}'`,
            );
          break;
      }
    }
  }
}

/**
 * Applies `$push` and `$addToSet` on plain paths to `doc` and returns the modifier left for mingo.
 * Run after `refuseOperandTypes`, so a present target is an array.
 */
export function applyArrayOperators(doc: Document, modifier: Document): Document {
  const rest: Document = { ...modifier };
  for (const op of ["$push", "$addToSet"] as const) {
    const args = modifier[op];
    if (!isPlainObject(args)) continue;
    const left: Document = {};
    for (const [path, arg] of Object.entries(args)) {
      if (!isPlainPath(path)) {
        left[path] = arg;
        continue;
      }
      const current = locate(doc, path).value;
      const base = Array.isArray(current) ? current : [];
      const next = op === "$push" ? pushWithModifiers(base, arg) : addToSet(base, arg);
      if (!Array.isArray(current) || canonicalKey(next) !== canonicalKey(current))
        assignPath(doc, path, next);
    }
    if (Object.keys(left).length) rest[op] = left;
    else delete rest[op];
  }
  return rest;
}

/** `$push` with `$each`, `$position`, `$sort` and `$slice`, applied in that order as MongoDB does. */
function pushWithModifiers(current: unknown[], arg: unknown): unknown[] {
  const withModifiers = isPlainObject(arg) && Object.keys(arg).some((k) => k.startsWith("$"));
  if (!withModifiers) return [...current, deepClone(arg)];
  const spec = arg as Document;
  for (const key of Object.keys(spec)) {
    if (!["$each", "$slice", "$sort", "$position"].includes(key))
      throw badValue(`Unrecognized clause in $push: ${key}`);
  }
  if (!Array.isArray(spec.$each))
    throw badValue(
      `The argument to $each in $push must be an array but it was of type: ${bsonTypeName(spec.$each)}`,
    );
  const each = deepClone(spec.$each);
  const out = [...current];
  let position = out.length;
  if (spec.$position !== undefined) {
    const p = integerClause("$position", spec.$position);
    position = p < 0 ? Math.max(0, out.length + p) : Math.min(p, out.length);
  }
  out.splice(position, 0, ...each);
  const sorted = spec.$sort === undefined ? out : sortClause(out, spec.$sort);
  if (spec.$slice === undefined) return sorted;
  const n = integerClause("$slice", spec.$slice);
  return n >= 0 ? sorted.slice(0, n) : sorted.slice(Math.max(0, sorted.length + n));
}

function integerClause(name: string, value: unknown): number {
  const n = typeof value === "number" ? value : Number(value);
  if (!isNumeric(value) || !Number.isInteger(n))
    throw badValue(
      `The value for ${name} must be an integer value but was given type: ${bsonTypeName(value)}`,
    );
  return n;
}

function sortClause(items: unknown[], spec: unknown): unknown[] {
  if (spec === 1 || spec === -1) {
    const dir = spec;
    return [...items].sort((a, b) => dir * compare(a as never, b as never));
  }
  if (!isPlainObject(spec) || !Object.keys(spec).length)
    throw badValue(
      "The $sort is invalid: use 1/-1 to sort the whole element, or {field:1/-1} to sort embedded fields",
    );
  for (const dir of Object.values(spec)) {
    if (dir !== 1 && dir !== -1) throw badValue("The $sort element value must be either 1 or -1");
  }
  if (items.some((item) => !isPlainObject(item))) {
    throw badValue("The $sort field is a document, but the array holds non-document elements");
  }
  return new Aggregator([{ $sort: spec }]).run(items as AnyObject[]);
}

/** `$addToSet` (+`$each`): appends each value not already in the array, keeping what is there. */
function addToSet(current: unknown[], arg: unknown): unknown[] {
  let values: unknown[] = [arg];
  if (isPlainObject(arg) && "$each" in arg) {
    const extra = Object.keys(arg).filter((k) => k !== "$each");
    if (extra.length)
      throw badValue(`Found unexpected fields after $each in $addToSet: ${describeValue(arg)}`);
    if (!Array.isArray(arg.$each))
      throw typeMismatch(
        `The argument to $each in $addToSet must be an array but it was of type ${bsonTypeName(arg.$each)}`,
      );
    values = arg.$each;
  }
  const out = [...current];
  const present = new Set(out.map(canonicalKey));
  for (const value of values) {
    const key = canonicalKey(value);
    if (present.has(key)) continue;
    present.add(key);
    out.push(deepClone(value));
  }
  return out;
}

/**
 * `$rename` cannot take from or put into an array element, and `$[]`/`$[id]` need the array they
 * name to exist: MongoDB refuses both before it writes anything.
 */
export function refuseArrayPaths(doc: Document, modifier: Document): void {
  const where = `doc with _id: ${describeValue(doc._id)}`;
  const rename = modifier.$rename;
  if (isPlainObject(rename)) {
    for (const [from, to] of Object.entries(rename)) {
      for (const [role, path] of [
        ["source", from],
        ["destination", String(to)],
      ] as const) {
        if (!isPlainPath(path))
          throw badValue(`The ${role} field for $rename may not be dynamic: ${path}`);
        const array = arrayPrefix(doc, path);
        if (array)
          throw badValue(
            `The ${role} field cannot be an array element, '${path}' in ${where} has an array field called '${array}'`,
          );
      }
    }
  }
  for (const args of Object.values(modifier)) {
    if (!isPlainObject(args)) continue;
    for (const path of Object.keys(args)) {
      const parts = path.split(".");
      const at = parts.findIndex((p) => /^\$\[[^\]]*\]$/.test(p));
      if (at <= 0 || !isPlainPath(parts.slice(0, at).join("."))) continue;
      const prefix = parts.slice(0, at).join(".");
      const slot = locate(doc, prefix);
      if (!slot.exists)
        throw badValue(
          `The path '${prefix}' must exist in the document in order to apply array updates.`,
        );
      if (!Array.isArray(slot.value))
        throw badValue(
          `Cannot apply array updates to non-array element ${slot.key}: ${describeValue(slot.value)}`,
        );
    }
  }
}

/** The first segment of `path` (as a dotted prefix) whose value in `doc` is an array. */
function arrayPrefix(doc: Document, path: string): string | undefined {
  const parts = path.split(".");
  let cur: unknown = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[parts[i] as string];
    if (Array.isArray(cur)) return parts.slice(0, i + 1).join(".");
  }
  return undefined;
}

/**
 * Applies `$currentDate` on plain paths (a Date, or a Timestamp for `{ $type: "timestamp" }`)
 * and returns the modifier left for mingo.
 */
export function applyCurrentDate(doc: Document, modifier: Document): Document {
  const args = modifier.$currentDate;
  if (!isPlainObject(args)) return modifier;
  const { $currentDate: _done, ...rest } = modifier;
  const left: Document = {};
  const now = new Date();
  for (const [path, spec] of Object.entries(args)) {
    if (!isPlainPath(path)) {
      left[path] = spec;
      continue;
    }
    let value: Date | Timestamp = now;
    if (isPlainObject(spec)) {
      const type = spec.$type;
      if (Object.keys(spec).length !== 1 || (type !== "date" && type !== "timestamp"))
        throw badValue(
          "The '$type' string field is required to be 'date' or 'timestamp': {$currentDate: {field : {$type: 'date'}}}",
        );
      // A timestamp's increment orders writes within a second; one write needs only 1.
      if (type === "timestamp")
        value = new Timestamp({ t: Math.floor(now.getTime() / 1000), i: 1 });
    } else if (typeof spec !== "boolean")
      throw badValue(
        `${path} is not valid type for $currentDate. Please use a boolean ('true') or a $type expression ({$type: 'timestamp/date'}).`,
      );
    assignPath(doc, path, value);
  }
  return Object.keys(left).length ? { ...rest, $currentDate: left } : rest;
}
