import { type Document, ObjectId } from "bson";
import { updateOne as mingoUpdateOne } from "mingo";
import type { AnyObject, Criteria } from "mingo/types";
import { deepClone, isPlainObject } from "./clone";
import { badValue, EngineError, failedToParse } from "./errors";
import { canonicalKey } from "./keys";
import { queryOptions } from "./query";

export interface ApplyOptions {
  /** The filter that selected the document: positional `$` updates resolve against it. */
  filter: Document;
  arrayFilters?: Document[];
  /** True when the update creates the document (upsert): `$setOnInsert` applies then only. */
  isInsert: boolean;
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
  if (Array.isArray(update))
    throw badValue("Pipeline-style updates are not supported by the embedded engine");
  if (!isOperatorUpdate(update)) return applyReplacement(doc, update);

  const modifier = deepClone(update);
  const onInsert = modifier.$setOnInsert;
  delete modifier.$setOnInsert;
  if (opts.isInsert && isPlainObject(onInsert)) {
    const set = isPlainObject(modifier.$set) ? modifier.$set : {};
    for (const [path, value] of Object.entries(onInsert)) {
      if (path in set) {
        throw new EngineError(
          40,
          "ConflictingUpdateOperators",
          `Updating the path '${path}' would create a conflict at '${path}'`,
        );
      }
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
  if (Object.keys(modifier).length === 0) return { doc, modified: false };

  const holder: AnyObject[] = [doc];
  try {
    const res = mingoUpdateOne(
      holder,
      opts.filter as Criteria<AnyObject>,
      modifier,
      { arrayFilters: opts.arrayFilters as AnyObject[] | undefined, cloneMode: "none" },
      queryOptions,
    );
    return { doc: holder[0] as Document, modified: res.modifiedCount > 0 };
  } catch (err) {
    throw translateUpdateError(err);
  }
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
    setPath(seed, key, deepClone(value));
  }
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
): Document {
  const seed = upsertSeed(filter);
  const operator = !Array.isArray(update) && isOperatorUpdate(update);
  const base = operator
    ? seed
    : { ...(seed._id !== undefined ? { _id: seed._id } : {}), ...deepClone(update) };
  const { doc } = operator
    ? applyUpdate(base, update, { filter: {}, arrayFilters, isInsert: true })
    : { doc: base };
  const { _id, ...rest } = doc;
  return { _id: _id ?? new ObjectId(), ...rest };
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
