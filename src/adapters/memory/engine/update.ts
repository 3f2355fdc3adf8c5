import { type Document, ObjectId } from "bson";
import { Aggregator, updateOne as mingoUpdateOne } from "mingo";
import type { AnyObject, Criteria } from "mingo/types";
import { deepClone, isPlainObject } from "./clone";
import { badValue, EngineError, failedToParse } from "./errors";
import { canonicalKey } from "./keys";
import { queryOptions, withVariables } from "./query";
import {
  applyArrayOperators,
  applyCurrentDate,
  fixesDisabledForTest,
  refuseArrayPaths,
  refuseOperandTypes,
} from "./update-fixes";

export interface ApplyOptions {
  /** The filter that selected the document: positional `$` updates resolve against it. */
  filter: Document;
  arrayFilters?: Document[];
  /** True when the update creates the document (upsert): `$setOnInsert` applies then only. */
  isInsert: boolean;
  /** `let` constants, visible as `$$name` in pipeline updates and `$expr`. */
  variables?: Document;
}

/** Operator update (`{ $set: … }`) vs replacement document; a mix is refused as the server does. */
export function isOperatorUpdate(update: Document): boolean {
  const keys = Object.keys(update);
  const ops = keys.filter((k) => k.startsWith("$"));
  if (ops.length && ops.length !== keys.length) {
    throw failedToParse("Update document contains both operators and plain fields");
  }
  return ops.length > 0;
}

/**
 * Applies `update` to `doc` (which the caller owns: it is mutated or replaced) and returns the
 * resulting document and whether anything changed.
 */
export function applyUpdate(
  doc: Document,
  update: Document,
  opts: ApplyOptions,
): { doc: Document; modified: boolean } {
  if (Array.isArray(update)) return applyPipeline(doc, update, opts);
  if (!isOperatorUpdate(update)) return applyReplacement(doc, update);

  refuseConflicts(update);
  const modifier = deepClone(update);
  const onInsert = modifier.$setOnInsert;
  delete modifier.$setOnInsert;
  if (opts.isInsert && isPlainObject(onInsert)) {
    const set = isPlainObject(modifier.$set) ? modifier.$set : {};
    for (const [path, value] of Object.entries(onInsert)) {
      if (path in set) throw conflict(path, path);
      set[path] = value;
    }
    modifier.$set = set;
  }
  for (const [op, args] of Object.entries(modifier)) {
    if (!isPlainObject(args)) {
      throw failedToParse(
        `Modifiers operate on fields but we found type ${typeof args} instead. For example: {$mod: {<field>: ...}} not {${op}: ${String(args)}}`,
      );
    }
    if (Object.keys(args).length === 0) delete modifier[op];
  }
  checkArrayFilters(update, opts.arrayFilters);
  if (Object.keys(modifier).length === 0) return { doc, modified: false };
  refuseConflicts(modifier);
  if (!fixesDisabledForTest) {
    refuseOperandTypes(doc, modifier);
    refuseArrayPaths(doc, modifier);
  }

  const before = canonicalKey(doc);
  const rest = fixesDisabledForTest
    ? modifier
    : applyCurrentDate(doc, applyArrayOperators(doc, modifier));
  const holder: AnyObject[] = [doc];
  if (Object.keys(rest).length) {
    try {
      mingoUpdateOne(
        holder,
        // The document is already selected; mingo needs the filter only to resolve `$`.
        (usesPositional(rest) ? opts.filter : {}) as Criteria<AnyObject>,
        rest,
        { arrayFilters: opts.arrayFilters as AnyObject[] | undefined, cloneMode: "none" },
        queryOptions,
      );
    } catch (err) {
      throw translateUpdateError(err);
    }
  }
  const after = holder[0] as Document;
  return { doc: after, modified: canonicalKey(after) !== before };
}

function usesPositional(modifier: Document): boolean {
  return Object.values(modifier).some(
    (args) => isPlainObject(args) && Object.keys(args).some((p) => p.split(".").includes("$")),
  );
}

/** Stages MongoDB accepts in a pipeline-style update. */
const UPDATE_STAGES = new Set([
  "$addFields",
  "$set",
  "$project",
  "$unset",
  "$replaceRoot",
  "$replaceWith",
]);

/** A pipeline-style update (`[{ $set: … }, …]`), evaluated by mingo's expression engine. */
function applyPipeline(
  doc: Document,
  pipeline: Document[],
  opts: ApplyOptions,
): { doc: Document; modified: boolean } {
  for (const stage of pipeline) {
    const name = isPlainObject(stage) ? Object.keys(stage)[0] : undefined;
    if (!name || Object.keys(stage).length !== 1)
      throw failedToParse("A pipeline stage specification object must contain exactly one field.");
    if (!UPDATE_STAGES.has(name))
      throw new EngineError(
        72,
        "InvalidOptions",
        `${name} is not allowed to be used within an update`,
      );
  }
  const before = canonicalKey(doc);
  let after: Document;
  try {
    // The aggregation engine itself, so stage semantics are exactly those of `aggregate`.
    [after = {}] = new Aggregator(pipeline as AnyObject[], withVariables(opts.variables)).run([
      doc as AnyObject,
    ]) as Document[];
  } catch (err) {
    throw translateUpdateError(err);
  }
  // `$project`/`$replaceWith` may drop `_id`; the server keeps the document's own.
  if (!("_id" in after) && "_id" in doc) after = { _id: doc._id, ...after };
  if (canonicalKey(after._id) !== canonicalKey(doc._id) && !opts.isInsert) {
    throw new EngineError(
      66,
      "ImmutableField",
      "After applying the update, the (immutable) field '_id' was found to have been altered",
    );
  }
  return { doc: after, modified: canonicalKey(after) !== before };
}

/**
 * arrayFilters and `$[id]` paths must match one to one, as the server checks before it updates
 * anything: an unused filter is FailedToParse, a `$[id]` without a filter BadValue.
 */
function checkArrayFilters(update: Document, arrayFilters: Document[] | undefined): void {
  const declared = new Set<string>();
  for (const filter of arrayFilters ?? []) {
    const ids = new Set(Object.keys(filter).map((k) => k.split(".")[0] as string));
    if (ids.size !== 1)
      throw failedToParse(
        "Error parsing array filter :: caused by :: Expected a single top-level field name, found " +
          `${ids.size ? [...ids].map((i) => `'${i}'`).join(" and ") : "none"}`,
      );
    const id = [...ids][0] as string;
    if (declared.has(id))
      throw failedToParse(`Found multiple array filters with the same top-level field name ${id}`);
    declared.add(id);
  }
  const used = new Set<string>();
  for (const args of Object.values(update)) {
    if (!isPlainObject(args)) continue;
    for (const path of Object.keys(args)) {
      for (const m of path.matchAll(/\$\[([^\]]+)\]/g)) {
        const id = m[1] as string;
        if (!declared.has(id))
          throw badValue(`No array filter found for identifier '${id}' in path '${path}'`);
        used.add(id);
      }
    }
  }
  for (const id of declared) {
    if (!used.has(id))
      throw failedToParse(`The array filter for identifier '${id}' was not used in the update`);
  }
}

/** Two operators naming the same path, or one path inside another, is refused as MongoDB does. */
function refuseConflicts(modifier: Document): void {
  const seen: string[] = [];
  for (const [op, args] of Object.entries(modifier)) {
    if (!isPlainObject(args)) continue;
    const paths = Object.keys(args);
    if (op === "$rename") {
      for (const [from, to] of Object.entries(args)) {
        if (typeof to !== "string")
          throw badValue(`The 'to' field for $rename must be a string: ${from}: ${String(to)}`);
        if (from === to)
          throw badValue(`The source and target field for $rename must differ: ${from}: "${to}"`);
        if (from.startsWith(`${to}.`) || to.startsWith(`${from}.`))
          throw badValue(
            `The source and target field for $rename must not be on the same path: ${from}: "${to}"`,
          );
      }
    }
    if (op === "$rename") paths.push(...Object.values(args as Document).map(String));
    for (const path of paths) {
      const other = seen.find(
        (p) => p === path || p.startsWith(`${path}.`) || path.startsWith(`${p}.`),
      );
      if (other !== undefined) throw conflict(path, other);
      seen.push(path);
    }
  }
}

function conflict(path: string, at: string): EngineError {
  return new EngineError(
    40,
    "ConflictingUpdateOperators",
    `Updating the path '${path}' would create a conflict at '${at}'`,
  );
}

function applyReplacement(
  doc: Document,
  replacement: Document,
): { doc: Document; modified: boolean } {
  if ("_id" in replacement && canonicalKey(replacement._id) !== canonicalKey(doc._id)) {
    throw new EngineError(
      66,
      "ImmutableField",
      "After applying the update, the (immutable) field '_id' was found to have been altered",
    );
  }
  const { _id: _ignored, ...rest } = deepClone(replacement);
  const next: Document = { _id: doc._id, ...rest };
  return { doc: next, modified: canonicalKey(next) !== canonicalKey(doc) };
}

/** The document an upsert starts from: the filter's equality conditions (as the server does). */
export function upsertSeed(filter: Document): Document {
  const seed: Document = {};
  collectEqualities(filter, seed);
  return seed;
}

function collectEqualities(filter: Document, seed: Document): void {
  for (const [key, value] of Object.entries(filter)) {
    if (key === "$and" && Array.isArray(value)) {
      for (const part of value) if (isPlainObject(part)) collectEqualities(part, seed);
      continue;
    }
    if (key.startsWith("$")) continue;
    if (isPlainObject(value) && Object.keys(value).some((k) => k.startsWith("$"))) {
      if ("$eq" in value) setPath(seed, key, deepClone(value.$eq));
      continue;
    }
    // A regular expression is a match, not an equality: mongod seeds nothing from it.
    if (isRegex(value) && !fixesDisabledForTest) continue;
    setPath(seed, key, deepClone(value));
  }
}

function isRegex(value: unknown): boolean {
  return (
    value instanceof RegExp || (value as { _bsontype?: unknown } | null)?._bsontype === "BSONRegExp"
  );
}

function setPath(doc: Document, path: string, value: unknown): void {
  const parts = path.split(".");
  let cur: Document = doc;
  for (const part of parts.slice(0, -1)) {
    if (!isPlainObject(cur[part])) cur[part] = {};
    cur = cur[part] as Document;
  }
  cur[parts[parts.length - 1] as string] = value;
}

/** The inserted document of an upsert, `_id` first as the server stores it. */
export function buildUpsert(
  filter: Document,
  update: Document,
  arrayFilters?: Document[],
  variables?: Document,
): Document {
  const seed = upsertSeed(filter);
  const replacement = !Array.isArray(update) && !isOperatorUpdate(update);
  const base = replacement
    ? { ...("_id" in seed ? { _id: seed._id } : {}), ...deepClone(update) }
    : seed;
  const { doc } = replacement
    ? { doc: base }
    : applyUpdate(base, update, { filter: {}, arrayFilters, isInsert: true, variables });
  // An explicit `_id: null` is a value like any other; only a missing `_id` is generated.
  const { _id, ...rest } = doc;
  return { _id: "_id" in doc && _id !== undefined ? _id : new ObjectId(), ...rest };
}

function translateUpdateError(err: unknown): Error {
  if (err instanceof EngineError || !(err instanceof Error))
    return err instanceof Error ? err : badValue(String(err));
  const msg = err.message;
  if (/immutable field/i.test(msg)) return new EngineError(66, "ImmutableField", msg);
  if (/conflict/i.test(msg)) return new EngineError(40, "ConflictingUpdateOperators", msg);
  if (/unknown update operator/i.test(msg)) {
    const op = /'(\$[^']*)'/.exec(msg)?.[1] ?? "?";
    return failedToParse(
      `Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`,
    );
  }
  return badValue(msg);
}
