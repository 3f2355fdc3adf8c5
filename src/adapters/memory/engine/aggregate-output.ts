/**
 * `$out` and `$merge`, the aggregation stages that write: the pipeline before them runs as usual,
 * then its documents are written into a collection of the same database through the
 * collection's own methods, so unique indexes are enforced exactly as for any other write.
 */
import type { Document } from "bson";
import { Aggregator } from "mingo";
import type { AnyObject } from "mingo/types";
import { isPlainObject } from "./clone";
import type { EngineCollection } from "./collection";
import { badValue, DuplicateKeyEngineError, EngineError } from "./errors";
import { getPath } from "./keys";
import { queryOptions } from "./query";

/** What the output stages need from the database they write into. */
export interface OutputTarget {
  readonly name: string;
  collection(name: string): EngineCollection;
  existing(name: string): EngineCollection | undefined;
  /** Replaces a collection's documents at once (for `$out`), or throws leaving it untouched. */
  replaceDocuments(name: string, docs: Document[]): void;
}

export type OutputStage = { $out: unknown } | { $merge: unknown };

/** Splits a pipeline into the stages that compute and its final `$out`/`$merge`, if any. */
export function splitOutputStage(pipeline: Document[]): {
  stages: Document[];
  output?: OutputStage;
} {
  pipeline.forEach((stage, i) => {
    const name = isPlainObject(stage) ? Object.keys(stage)[0] : undefined;
    if ((name === "$out" || name === "$merge") && i !== pipeline.length - 1)
      throw new EngineError(
        40601,
        "Location40601",
        `${name} can only be the final stage in the pipeline`,
      );
  });
  const last = pipeline[pipeline.length - 1];
  if (last && ("$out" in last || "$merge" in last))
    return { stages: pipeline.slice(0, -1), output: last as OutputStage };
  return { stages: pipeline };
}

export function writeOutput(db: OutputTarget, stage: OutputStage, docs: Document[]): void {
  if ("$out" in stage) writeOut(db, stage.$out, docs);
  else writeMerge(db, stage.$merge, docs);
}

function targetName(db: OutputTarget, spec: unknown, stage: string): string {
  if (typeof spec === "string") return spec;
  if (isPlainObject(spec)) {
    const coll = spec.coll;
    if (typeof coll !== "string" || !coll) throw badValue(`${stage} needs a target collection`);
    if (spec.db !== undefined && spec.db !== db.name)
      throw new EngineError(
        238,
        "NotImplemented",
        `${stage} into another database is not supported by the embedded engine`,
      );
    if ("timeseries" in spec)
      throw new EngineError(
        238,
        "NotImplemented",
        `${stage} into a time-series collection is not supported by the embedded engine`,
      );
    return coll;
  }
  throw badValue(`${stage} requires a collection name or a document`);
}

function writeOut(db: OutputTarget, spec: unknown, docs: Document[]): void {
  db.replaceDocuments(targetName(db, spec, "$out"), docs);
}

const WHEN_MATCHED = new Set(["replace", "keepExisting", "merge", "fail"]);
const WHEN_NOT_MATCHED = new Set(["insert", "discard", "fail"]);

function writeMerge(db: OutputTarget, spec: unknown, docs: Document[]): void {
  const merge = isPlainObject(spec) ? spec : { into: spec };
  const name = targetName(db, merge.into, "$merge");
  const on = merge.on === undefined ? ["_id"] : Array.isArray(merge.on) ? merge.on : [merge.on];
  if (!on.length || on.some((f) => typeof f !== "string"))
    throw badValue("$merge 'on' must be a field name or an array of field names");
  const whenMatched = merge.whenMatched ?? "merge";
  const whenNotMatched = merge.whenNotMatched ?? "insert";
  if (!Array.isArray(whenMatched) && !WHEN_MATCHED.has(String(whenMatched)))
    throw badValue(
      `Enumeration value '${String(whenMatched)}' for field 'whenMatched' is not a valid value.`,
    );
  if (!WHEN_NOT_MATCHED.has(String(whenNotMatched)))
    throw badValue(
      `Enumeration value '${String(whenNotMatched)}' for field 'whenNotMatched' is not a valid value.`,
    );
  if (merge.let !== undefined && !Array.isArray(whenMatched))
    throw new EngineError(
      51199,
      "Location51199",
      `Cannot use 'let' variables with 'whenMatched: ${String(whenMatched)}' mode`,
    );

  const onFields = on as string[];
  const target = db.existing(name);
  const unique = onFields.length === 1 && onFields[0] === "_id";
  if (!unique && !target?.listIndexes().some((i) => i.unique && sameFields(i.key, onFields)))
    throw new EngineError(
      51183,
      "Location51183",
      "Cannot find index to verify that join fields will be unique",
    );
  const coll = db.collection(name);

  for (const doc of docs) {
    const filter: Document = {};
    for (const field of onFields) {
      const value = getPath(doc, field);
      if (value === undefined || Array.isArray(value))
        throw new EngineError(
          51132,
          "Location51132",
          `$merge write error: 'on' field '${field}' cannot be missing, null, undefined or an array`,
        );
      filter[field] = value;
    }
    const existing = coll.findOne(filter);
    if (!existing) {
      if (whenNotMatched === "discard") continue;
      if (whenNotMatched === "fail")
        throw new EngineError(
          13113,
          "MergeStageNoMatchingDocument",
          "$merge could not find a matching document in the target collection for at least one document in the source collection",
        );
      coll.insertOne(doc);
      continue;
    }
    const byId = { _id: existing._id };
    if (Array.isArray(whenMatched)) {
      coll.update(byId, whenMatched as unknown as Document, {
        variables: letValues(merge.let, doc),
      });
      continue;
    }
    switch (whenMatched) {
      case "keepExisting":
        break;
      case "fail":
        throw new DuplicateKeyEngineError(
          `${db.name}.${name}`,
          "_id_",
          { _id: 1 },
          { _id: existing._id },
        );
      case "replace":
        coll.update(byId, doc);
        break;
      default: {
        const { _id: _same, ...fields } = doc;
        if (Object.keys(fields).length) coll.update(byId, { $set: fields });
      }
    }
  }
}

/** `let` of a `$merge` pipeline, evaluated against the incoming document (`new` by default). */
function letValues(spec: unknown, doc: Document): Document {
  const vars = isPlainObject(spec) ? spec : { new: "$$ROOT" };
  const projection: Document = { _id: 0 };
  for (const [name, expr] of Object.entries(vars))
    projection[name] =
      typeof expr === "number" || typeof expr === "boolean" ? { $literal: expr } : expr;
  const [out] = new Aggregator([{ $project: projection }], queryOptions).run([doc as AnyObject]);
  // Already values: shield them from a second evaluation as `let` expressions.
  const literal: Document = {};
  for (const [name, value] of Object.entries((out as Document | undefined) ?? {}))
    literal[name] = { $literal: value };
  return literal;
}

function sameFields(key: unknown, fields: string[]): boolean {
  if (!isPlainObject(key)) return false;
  const own = Object.keys(key).sort();
  const wanted = [...fields].sort();
  return own.length === wanted.length && own.every((f, i) => f === wanted[i]);
}
