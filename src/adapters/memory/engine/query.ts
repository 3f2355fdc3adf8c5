import type { Document } from "bson";
import { Aggregator, find as mingoFind, Query } from "mingo";
import type { AnyObject, Criteria, Options } from "mingo/types";
import { sortMeetsArrays, sortWithArrays } from "./array-sort";
import { isPlainObject } from "./clone";
import { foldStrings, notSupported, parseCollation, refuseUncollatable } from "./collation";
import { badValue, EngineError } from "./errors";
import { rewriteNullPaths } from "./null-paths";
import { checkFilter, checkProjection, checkSort } from "./query-checks";
import { fixesDisabledForTest } from "./update-fixes";

/** mingo's null tests, unless the engine's fixes are off (test-only, update-fixes.ts). */
const nullPaths = (filter: Document) => (fixesDisabledForTest ? filter : rewriteNullPaths(filter));

/** Script operators ($where, $function) stay off: filters may come from clients. */
export const queryOptions: Partial<Options> = { scriptEnabled: false };

export interface FindSpec {
  sort?: Document;
  skip?: number;
  limit?: number;
  projection?: Document;
  /** `let` constants, visible as `$$name` in `$expr`. */
  variables?: Document;
  /** MongoDB's collation document (see collation.ts for what is honoured). */
  collation?: Document;
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
  return guard(() => new Query(nullPaths(filter) as Criteria<AnyObject>, queryOptions));
}

/** Matching documents in sort order, then skip/limit/projection. Returns the engine's own objects (or projected copies). */
export function runFind(docs: Iterable<Document>, filter: Document, spec: FindSpec): Document[] {
  checkFilter(filter);
  checkSort(spec.sort);
  checkProjection(spec.projection);
  const collation = parseCollation(spec.collation);
  return guard(() => {
    const hasProjection = spec.projection && Object.keys(spec.projection).length > 0;
    const options = withVariables(spec.variables);
    let source = Array.from(docs);
    let criteria = nullPaths(filter);
    if (collation) {
      refuseUncollatable(filter);
      const { fold } = collation;
      const query = new Query(foldStrings(criteria, fold) as Criteria<AnyObject>, options);
      // Only the filtered fields are folded (and so checked for strings the fold cannot take).
      const fields = filteredFields(filter);
      source = source.filter((doc) => {
        const picked: Document = {};
        for (const f of fields) if (f in doc) picked[f] = doc[f];
        return query.test(foldStrings(picked, fold) as AnyObject);
      });
      criteria = {};
    }
    const findOptions = collation ? { ...options, collation: collation.sortSpec } : options;
    const arraySort = !fixesDisabledForTest && spec.sort && Object.keys(spec.sort).length > 0;
    if (arraySort && spec.sort && sortMeetsArrays(source, spec.sort)) {
      const matched = mingoFind(
        source as AnyObject[],
        criteria as Criteria<AnyObject>,
        undefined,
        findOptions,
      ).all() as Document[];
      let sorted = sortWithArrays(matched, spec.sort, collation?.sortSpec);
      if (spec.skip) sorted = sorted.slice(spec.skip);
      if (spec.limit) sorted = sorted.slice(0, Math.abs(spec.limit));
      if (!hasProjection) return sorted;
      // Projected after sorting (the sort may use fields the projection drops), in order.
      return (
        mingoFind(
          sorted as AnyObject[],
          criteria as Criteria<AnyObject>,
          spec.projection,
          findOptions,
        ).all() as Document[]
      ).map(idFirst);
    }
    let cursor = mingoFind(
      source as AnyObject[],
      criteria as Criteria<AnyObject>,
      hasProjection ? spec.projection : undefined,
      findOptions,
    );
    if (spec.sort && Object.keys(spec.sort).length)
      cursor = cursor.sort(spec.sort as Record<string, 1 | -1>);
    if (spec.skip) cursor = cursor.skip(spec.skip);
    if (spec.limit) cursor = cursor.limit(Math.abs(spec.limit));
    const out = cursor.all() as Document[];
    return hasProjection ? out.map(idFirst) : out;
  });
}

/** The top-level fields a filter reads (through `$and`/`$or`/`$nor`). */
function filteredFields(filter: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(filter)) for (const part of filter) filteredFields(part, out);
  else if (isPlainObject(filter))
    for (const [key, value] of Object.entries(filter)) {
      if (key.startsWith("$")) filteredFields(value, out);
      else out.add(key.split(".")[0] as string);
    }
  return out;
}

export interface AggregateSpec {
  variables?: Document;
  collation?: Document;
}

export function runAggregate(
  docs: Document[],
  pipeline: Document[],
  resolveCollection: (name: string) => Document[],
  spec: AggregateSpec = {},
): Document[] {
  const collation = parseCollation(spec.collation);
  const options = {
    ...withVariables(spec.variables),
    collectionResolver: (name: string) => resolveCollection(name) as AnyObject[],
    ...(collation ? { collation: collation.sortSpec } : {}),
  };
  for (const stage of pipeline) {
    if (!isPlainObject(stage)) continue;
    if ("$match" in stage) checkFilter(stage.$match);
    if ("$sort" in stage) checkSort(stage.$sort);
  }
  let current = docs;
  let rest = pipeline.map((stage) =>
    isPlainObject(stage) && isPlainObject(stage.$match)
      ? { ...stage, $match: nullPaths(stage.$match) }
      : stage,
  );
  if (collation) {
    // Leading $match stages filter under the collation; what follows must not compare strings.
    while (rest[0] && "$match" in rest[0]) {
      const match = (rest[0] as { $match: Document }).$match;
      current = runFind(current, match, spec);
      rest = rest.slice(1);
    }
    for (const stage of rest) refuseCollatedStage(stage);
  }
  return guard(() => {
    // mingo's $sample draws with replacement; the server's never repeats a document.
    let segment: Document[] = [];
    const flush = () => {
      if (segment.length)
        current = new Aggregator(segment as AnyObject[], options).run(
          current as AnyObject[],
        ) as Document[];
      segment = [];
    };
    for (const stage of rest) {
      // A $sort meeting arrays orders as mongod does (array-sort.ts), not as mingo.
      const sort = (stage as { $sort?: Document }).$sort;
      if (sort && !fixesDisabledForTest) {
        flush();
        if (sortMeetsArrays(current, sort))
          current = sortWithArrays(current, sort, options.collation);
        else segment.push(stage);
        continue;
      }
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

/** Stages that never compare strings (or sort them, which mingo does under the collation). */
function refuseCollatedStage(stage: Document): void {
  const [name, arg] = Object.entries(stage)[0] ?? [];
  if (name === undefined) return;
  if (["$sort", "$skip", "$limit", "$count", "$sample", "$unset"].includes(name)) return;
  if (name === "$project" && isPlainObject(arg)) {
    if (Object.values(arg).every((v) => v === 0 || v === 1 || typeof v === "boolean")) return;
  }
  if (name === "$group" && isPlainObject(arg)) {
    const { _id, ...accumulators } = arg;
    const constantKey = _id === null || typeof _id === "number" || typeof _id === "boolean";
    const counts = Object.values(accumulators).every(
      (acc) => isPlainObject(acc) && typeof acc.$sum === "number",
    );
    if (constantKey && counts) return;
  }
  throw notSupported(`the ${name} stage under a collation`);
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
    throw translateQueryError(err instanceof Error ? err.message : String(err));
  }
}

/** MongoDB stages mingo does not implement: they exist, so they are refused, not "unknown". */
const SERVER_STAGES = new Set([
  "$changeStream",
  "$changeStreamSplitLargeEvent",
  "$collStats",
  "$currentOp",
  "$indexStats",
  "$listLocalSessions",
  "$listSessions",
  "$listSampledQueries",
  "$listSearchIndexes",
  "$planCacheStats",
  "$search",
  "$searchMeta",
  "$vectorSearch",
  "$geoNear",
  "$shardedDataDistribution",
  "$queryStats",
]);

/** mingo's messages for unknown operators, as the server's errors for them. */
function translateQueryError(message: string): EngineError {
  const stage = /unregistered pipeline operator (\$\w+)/.exec(message)?.[1];
  if (stage) {
    if (SERVER_STAGES.has(stage)) return notSupported(`the ${stage} stage`);
    return new EngineError(40324, "Location40324", `Unrecognized pipeline stage name: '${stage}'`);
  }
  const expression = /(?:accumulator|operator) '(\$\w+)' is not registered/.exec(message)?.[1];
  if (expression)
    return new EngineError(
      168,
      "InvalidPipelineOperator",
      `Unrecognized expression '${expression}'`,
    );
  const queryOp = /unknown query operator (\$\w+)/.exec(message)?.[1];
  if (queryOp) return badValue(`unknown operator: ${queryOp}`);
  return badValue(message);
}
