/**
 * Null equality through arrays of documents, as mongod has it: `{"a.b": null}` matches when `a`
 * is an array holding a document whose `b` is missing or null (`{ a: [{ b: 3 }, {}] }`), and
 * `$ne: null` then does not match. mingo only looks at the `b` values the array has, so the
 * filter is rewritten before mingo sees it: each dotted null test becomes an `$or` of mingo's own
 * test and an `$elemMatch` at every array level the path can cross. Upstream candidate for mingo.
 */
import type { Document } from "bson";
import { isPlainObject } from "./clone";

const LOGICAL = new Set(["$and", "$or", "$nor"]);

/** `filter` with every dotted null test spelled so that mingo answers as mongod. */
export function rewriteNullPaths(filter: Document): Document {
  let changed = false;
  const parts: Document[] = [];
  const out: Document = {};
  for (const [key, value] of Object.entries(filter)) {
    if (LOGICAL.has(key) && Array.isArray(value)) {
      const clauses = value.map((c) => (isPlainObject(c) ? rewriteNullPaths(c) : c));
      changed ||= clauses.some((c, i) => c !== value[i]);
      out[key] = clauses;
      continue;
    }
    const rewritten = rewritable(key) ? rewriteField(key, value) : undefined;
    if (!rewritten) {
      out[key] = value;
      continue;
    }
    changed = true;
    parts.push(...rewritten);
  }
  if (!changed) return filter;
  return parts.length ? { $and: [...(Object.keys(out).length ? [out] : []), ...parts] } : out;
}

/** A dotted field path without array indexes (`a.0.b` already names its element). */
function rewritable(key: string): boolean {
  return !key.startsWith("$") && key.includes(".") && !key.split(".").some((p) => /^\d+$/.test(p));
}

/** The clauses replacing `{ [path]: value }`, or undefined when it holds no null test. */
function rewriteField(path: string, value: unknown): Document[] | undefined {
  if (value === null) return [nullMatch(path)];
  if (!isPlainObject(value) || !Object.keys(value).every((k) => k.startsWith("$")))
    return undefined;
  const { $eq, $ne, $in, $nin, ...rest } = value;
  const inHasNull = Array.isArray($in) && $in.includes(null);
  const ninHasNull = Array.isArray($nin) && $nin.includes(null);
  if ($eq !== null && $ne !== null && !inHasNull && !ninHasNull) return undefined;
  const keep: Document = { ...rest };
  const clauses: Document[] = [];
  if ($eq === null) clauses.push(nullMatch(path));
  else if ($eq !== undefined) keep.$eq = $eq;
  if ($ne === null) clauses.push({ $nor: [nullMatch(path)] });
  else if ($ne !== undefined) keep.$ne = $ne;
  if (inHasNull) {
    const others = ($in as unknown[]).filter((v) => v !== null);
    clauses.push({ $or: [{ [path]: { $in: others } }, nullMatch(path)] });
  } else if ($in !== undefined) keep.$in = $in;
  if (ninHasNull) {
    const others = ($nin as unknown[]).filter((v) => v !== null);
    clauses.push({ $nor: [{ [path]: { $in: others } }, nullMatch(path)] });
  } else if ($nin !== undefined) keep.$nin = $nin;
  if (Object.keys(keep).length) clauses.push({ [path]: keep });
  return clauses;
}

/** `{ [path]: null }` with the array levels mingo misses spelled out as `$elemMatch`. */
function nullMatch(path: string): Document {
  const segments = path.split(".");
  const terms: Document[] = [{ [path]: null }];
  for (let i = 1; i < segments.length; i++) {
    const rest = segments.slice(i).join(".");
    terms.push({
      [segments.slice(0, i).join(".")]: {
        $elemMatch: rest.includes(".") ? nullMatch(rest) : { [rest]: null },
      },
    });
  }
  return { $or: terms };
}
