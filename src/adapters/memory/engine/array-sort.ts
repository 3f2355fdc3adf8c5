/**
 * Sorting on a field that holds arrays, as mongod does: an ascending sort orders a document by
 * the smallest element, a descending sort by the largest, and an empty array sorts before null
 * and missing. mingo compares the arrays themselves (a descending sort by the smallest element).
 * Used only when a sorted path meets an array; upstream candidate for mingo.
 */
import type { Document } from "bson";
import { Aggregator } from "mingo";
import type { AnyObject, CollationSpec } from "mingo/types";
import { compare } from "mingo/util";
import { isPlainObject } from "./clone";

const EMPTY = Symbol("empty array");

/** True when some document holds an array on one of the sorted paths. */
export function sortMeetsArrays(docs: readonly Document[], sort: Document): boolean {
  const paths = Object.keys(sort).map((p) => p.split("."));
  return docs.some((doc) => paths.some((segments) => crossesArray(doc, segments)));
}

function crossesArray(value: unknown, segments: string[]): boolean {
  if (Array.isArray(value)) return true;
  if (!segments.length || !isPlainObject(value)) return false;
  return crossesArray(value[segments[0] as string], segments.slice(1));
}

/** `docs` in mongod's order for `sort` (stable: ties keep their order). */
export function sortWithArrays(
  docs: readonly Document[],
  sort: Document,
  collation?: CollationSpec,
): Document[] {
  const keys = Object.entries(sort) as [string, 1 | -1][];
  const strings = collation
    ? new Intl.Collator(collation.locale, {
        sensitivity:
          collation.strength === 1 ? "base" : collation.strength === 2 ? "accent" : "variant",
      })
    : undefined;
  const order = (a: unknown, b: unknown) =>
    strings && typeof a === "string" && typeof b === "string"
      ? strings.compare(a, b)
      : compare(a as never, b as never);
  // Each document is decorated with its sort keys, then mingo's own $sort (type order, collation).
  const decorated = docs.map((doc, i) => {
    const row: Document = { i };
    keys.forEach(([path, dir], k) => {
      const values = collect(doc, path.split("."));
      const empty = values.length > 0 && values.every((v) => v === EMPTY);
      const present = values.filter((v) => v !== EMPTY);
      row[`e${k}`] = empty ? 0 : 1;
      row[`k${k}`] = present.length
        ? present.reduce((best, v) => (dir * order(v, best) < 0 ? v : best))
        : null;
    });
    return row;
  });
  const spec: Document = {};
  keys.forEach(([, dir], k) => {
    spec[`e${k}`] = dir;
    spec[`k${k}`] = dir;
  });
  spec.i = 1;
  const sorted = new Aggregator([{ $sort: spec }], collation ? { collation } : {}).run(
    decorated as AnyObject[],
  ) as Document[];
  return sorted.map((row) => docs[row.i as number] as Document);
}

/** Every value `segments` reaches, arrays on the way and at the end opened (EMPTY for `[]`). */
function collect(value: unknown, segments: string[]): unknown[] {
  if (!segments.length) {
    if (!Array.isArray(value)) return value === undefined ? [] : [value];
    return value.length ? value : [EMPTY];
  }
  if (Array.isArray(value)) return value.flatMap((v) => collect(v, segments));
  if (!isPlainObject(value)) return [];
  return collect(value[segments[0] as string], segments.slice(1));
}
