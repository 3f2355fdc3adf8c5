import type { Document } from "bson";
import { Aggregator, find as mingoFind, Query } from "mingo";
import type { AnyObject, Criteria, Options } from "mingo/types";
import { badValue, EngineError } from "./errors";

/** Script operators ($where, $function) stay off: filters may come from clients. */
export const queryOptions: Partial<Options> = { scriptEnabled: false };

export interface FindSpec {
  sort?: Document;
  skip?: number;
  limit?: number;
  projection?: Document;
  /** `let` constants, visible as `$$name` in `$expr`. */
  variables?: Document;
}

/**
 * mingo options for one operation: `let` becomes mingo's global variables. Each `let` value is
 * an expression evaluated once, before the operation (`{ $literal: "$x" }` is the string "$x").
 */
export function withVariables(variables: Document | undefined): Partial<Options> {
  if (!variables || !Object.keys(variables).length) return queryOptions;
  return { ...queryOptions, variables: evaluateConstants(variables) };
}

function evaluateConstants(variables: Document): Document {
  const projection: Document = { _id: 0 };
  for (const [name, expr] of Object.entries(variables)) {
    if (!/^[a-z][A-Za-z0-9_]*$/.test(name))
      throw badValue(`'${name}' starts with an invalid character for a user variable name`);
    // Numbers and booleans in a projection would mean include/exclude: make them literals.
    projection[name] =
      typeof expr === "number" || typeof expr === "boolean" ? { $literal: expr } : expr;
  }
  const [out] = guard(() =>
    new Aggregator([{ $project: projection }], queryOptions).run([{}] as AnyObject[]),
  );
  return (out as Document | undefined) ?? {};
}

export function compileFilter(filter: Document): Query<AnyObject> {
  return guard(() => new Query(filter as Criteria<AnyObject>, queryOptions));
}

/** Matching documents in sort order, then skip/limit/projection. Returns the engine's own objects (or projected copies). */
export function runFind(docs: Iterable<Document>, filter: Document, spec: FindSpec): Document[] {
  return guard(() => {
    const hasProjection = spec.projection && Object.keys(spec.projection).length > 0;
    let cursor = mingoFind(
      Array.from(docs) as AnyObject[],
      filter as Criteria<AnyObject>,
      hasProjection ? spec.projection : undefined,
      withVariables(spec.variables),
    );
    if (spec.sort && Object.keys(spec.sort).length)
      cursor = cursor.sort(spec.sort as Record<string, 1 | -1>);
    if (spec.skip) cursor = cursor.skip(spec.skip);
    if (spec.limit) cursor = cursor.limit(Math.abs(spec.limit));
    const out = cursor.all() as Document[];
    return hasProjection ? out.map(idFirst) : out;
  });
}

export function runAggregate(
  docs: Document[],
  pipeline: Document[],
  resolveCollection: (name: string) => Document[],
  variables?: Document,
): Document[] {
  const options = {
    ...withVariables(variables),
    collectionResolver: (name: string) => resolveCollection(name) as AnyObject[],
  };
  return guard(() => {
    // mingo's $sample draws with replacement; the server's never repeats a document.
    let current = docs;
    let segment: Document[] = [];
    const flush = () => {
      if (segment.length)
        current = new Aggregator(segment as AnyObject[], options).run(
          current as AnyObject[],
        ) as Document[];
      segment = [];
    };
    for (const stage of pipeline) {
      const sample = (stage as { $sample?: { size?: unknown } }).$sample;
      if (sample === undefined) {
        segment.push(stage);
        continue;
      }
      flush();
      const size = sample.size;
      if (typeof size !== "number" || size < 0)
        throw badValue("size argument to $sample must be a non-negative number");
      current = sampleWithoutReplacement(current, size);
    }
    flush();
    return current;
  });
}

function sampleWithoutReplacement<T>(items: readonly T[], size: number): T[] {
  const pool = [...items];
  const n = Math.min(Math.floor(size), pool.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(Math.random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j] as T, pool[i] as T];
  }
  return pool.slice(0, n);
}

/** The server keeps `_id` first in projected documents; mingo appends it. */
function idFirst(doc: Document): Document {
  if (!("_id" in doc)) return doc;
  const { _id, ...rest } = doc;
  return { _id, ...rest };
}

/** mingo throws plain errors for invalid queries; the server answers BadValue (2). */
function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof EngineError) throw err;
    throw badValue(err instanceof Error ? err.message : String(err));
  }
}
