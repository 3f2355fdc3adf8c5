import { type Document, ObjectId } from "bson";
import type { CommittedWrite } from "./change-log";
import { deepClone, isPlainObject } from "./clone";
import { foldStrings, parseCollation, refuseCollatedUpdate } from "./collation";
import { badValue, DuplicateKeyEngineError, EngineError } from "./errors";
import { defaultIndexName, Index, type IndexDefinition } from "./indexes";
import { canonicalKey, getPath } from "./keys";
import { type AggregateSpec, type FindSpec, runAggregate, runFind } from "./query";
import { applyUpdate, buildUpsert, isOperatorUpdate } from "./update";

export interface UpdateSpec {
  multi?: boolean;
  upsert?: boolean;
  arrayFilters?: Document[];
  /** `let` constants (`$$name` in `$expr` and pipeline updates). */
  variables?: Document;
  collation?: Document;
}

export interface UpdateOutcome {
  matchedCount: number;
  modifiedCount: number;
  /** True when the update inserted a document (its `_id` may be null). */
  upserted: boolean;
  upsertedId: unknown;
}

export interface FindAndModifySpec {
  update?: Document;
  remove?: boolean;
  sort?: Document;
  /** Return the document after the change (MongoDB's `new: true`). */
  returnNew?: boolean;
  upsert?: boolean;
  projection?: Document;
  arrayFilters?: Document[];
  variables?: Document;
  collation?: Document;
}

export interface FindAndModifyOutcome {
  value: Document | null;
  lastErrorObject: { n: number; updatedExisting?: boolean; upserted?: unknown };
}

export interface IndexRequest {
  key: Record<string, 1 | -1>;
  name?: string;
  unique?: boolean;
  sparse?: boolean;
}

/**
 * One collection. Documents are stored as private deep copies keyed by their `_id`, and every
 * method returns copies. Each write runs synchronously from check to apply (no `await`), which
 * is what makes single-document writes atomic against concurrent callers.
 */
export class EngineCollection {
  private readonly docs = new Map<string, Document>();
  private readonly indexes = new Map<string, Index>();

  constructor(
    readonly dbName: string,
    readonly name: string,
    /** Other collections of the same database, for $lookup and friends. */
    private readonly resolveSibling: (name: string) => Document[] = () => [],
    /** Told of every committed write, in commit order (the database's change log). */
    private readonly onCommit?: (write: Omit<CommittedWrite, "coll">) => void,
  ) {
    this.indexes.set(
      "_id_",
      new Index({ name: "_id_", key: { _id: 1 }, unique: true, sparse: false }),
    );
  }

  get ns(): string {
    return `${this.dbName}.${this.name}`;
  }

  get size(): number {
    return this.docs.size;
  }

  /** The stored documents themselves, for read-only use inside the engine. */
  rawDocuments(): Document[] {
    return [...this.docs.values()];
  }

  find(filter: Document = {}, spec: FindSpec = {}): Document[] {
    return runFind(this.candidates(filter), filter, spec).map(deepClone);
  }

  findOne(filter: Document = {}, spec: FindSpec = {}): Document | null {
    return this.find(filter, { ...spec, limit: 1 })[0] ?? null;
  }

  count(filter: Document = {}, spec: Pick<FindSpec, "skip" | "limit" | "collation"> = {}): number {
    if (!Object.keys(filter).length && !spec.skip && !spec.limit) return this.docs.size;
    return runFind(this.candidates(filter), filter, spec).length;
  }

  /**
   * Checks a `hint` (index name or key pattern) against this collection's indexes: mongod
   * refuses a hint to a missing index with BadValue, and so does the engine.
   */
  checkHint(hint: unknown): void {
    if (hint === undefined || hint === null) return;
    if (typeof hint === "string") {
      if (this.indexes.has(hint)) return;
    } else if (isPlainObject(hint)) {
      if (Object.keys(hint).length === 0) return;
      if ("$natural" in hint && Object.keys(hint).length === 1) return;
      const wanted = JSON.stringify(hint);
      if ([...this.indexes.values()].some((i) => JSON.stringify(i.def.key) === wanted)) return;
    } else {
      throw badValue("hint must be a string or an object");
    }
    throw badValue(
      "error processing query: planner returned error :: caused by :: hint provided does not correspond to an existing index",
    );
  }

  distinct(key: string, filter: Document = {}, collation?: Document): unknown[] {
    const seen = new Map<string, unknown>();
    // Under a collation, strings equal by it are one value (the first one met stands for it).
    const fold = parseCollation(collation)?.fold;
    for (const doc of runFind(this.candidates(filter), filter, { collation })) {
      const value = getPath(doc, key);
      for (const v of Array.isArray(value) ? value : [value]) {
        if (v === undefined) continue;
        const id = canonicalKey(fold ? foldStrings(v, fold) : v);
        if (!seen.has(id)) seen.set(id, v);
      }
    }
    return [...seen.values()].map(deepClone);
  }

  aggregate(pipeline: Document[], spec: AggregateSpec = {}): Document[] {
    return runAggregate(this.rawDocuments(), pipeline, this.resolveSibling, spec).map(deepClone);
  }

  insertOne(input: Document): Document {
    if (!isPlainObject(input)) throw badValue("document must be an object");
    const { _id, ...rest } = deepClone(input);
    // `_id: null` is stored as null (as mongod does); only a missing `_id` is generated.
    const doc: Document = { _id: _id === undefined ? new ObjectId() : _id, ...rest };
    if (Array.isArray(doc._id)) throw badValue("can't use an array for _id");
    if (isPlainObject(doc._id)) {
      const dollar = Object.keys(doc._id).find((k) => k.startsWith("$"));
      if (dollar)
        throw new EngineError(
          53,
          "InvalidIdField",
          `_id fields may not contain '$'-prefixed fields: ${dollar} is not valid for storage.`,
        );
    }
    this.commit(null, doc);
    return deepClone(doc);
  }

  update(filter: Document, update: Document, spec: UpdateSpec = {}): UpdateOutcome {
    if (parseCollation(spec.collation)) refuseCollatedUpdate(update, spec.arrayFilters);
    const matches = runFind(this.candidates(filter), filter, {
      limit: spec.multi ? undefined : 1,
      variables: spec.variables,
      collation: spec.collation,
    });
    if (matches.length === 0) {
      if (!spec.upsert)
        return { matchedCount: 0, modifiedCount: 0, upserted: false, upsertedId: null };
      const doc = buildUpsert(filter, update, spec.arrayFilters, spec.variables);
      this.commit(null, doc);
      return { matchedCount: 0, modifiedCount: 0, upserted: true, upsertedId: deepClone(doc._id) };
    }
    let modifiedCount = 0;
    for (const current of matches) {
      const { doc, modified } = applyUpdate(deepClone(current), update, {
        filter,
        arrayFilters: spec.arrayFilters,
        isInsert: false,
        variables: spec.variables,
      });
      if (!modified) continue;
      this.commit(current, doc, isReplacement(update));
      modifiedCount++;
    }
    return { matchedCount: matches.length, modifiedCount, upserted: false, upsertedId: null };
  }

  findAndModify(filter: Document, spec: FindAndModifySpec): FindAndModifyOutcome {
    if (!spec.remove && !spec.update)
      throw new EngineError(
        9,
        "FailedToParse",
        "Either an update or remove=true must be specified",
      );
    if (spec.update && parseCollation(spec.collation))
      refuseCollatedUpdate(spec.update, spec.arrayFilters);
    const [current] = runFind(this.candidates(filter), filter, {
      sort: spec.sort,
      limit: 1,
      variables: spec.variables,
      collation: spec.collation,
    });
    const project = (doc: Document | null) => (doc ? this.project(doc, spec.projection) : null);

    if (spec.remove) {
      if (!current) return { value: null, lastErrorObject: { n: 0 } };
      this.commit(current, null);
      return { value: project(current), lastErrorObject: { n: 1 } };
    }
    const update = spec.update as Document;
    if (!current) {
      if (!spec.upsert) return { value: null, lastErrorObject: { n: 0, updatedExisting: false } };
      const doc = buildUpsert(filter, update, spec.arrayFilters, spec.variables);
      this.commit(null, doc);
      return {
        value: spec.returnNew ? project(doc) : null,
        lastErrorObject: { n: 1, updatedExisting: false, upserted: deepClone(doc._id) },
      };
    }
    const { doc, modified } = applyUpdate(deepClone(current), update, {
      filter,
      arrayFilters: spec.arrayFilters,
      isInsert: false,
      variables: spec.variables,
    });
    if (modified) this.commit(current, doc, isReplacement(update));
    return {
      value: project(spec.returnNew ? doc : current),
      lastErrorObject: { n: 1, updatedExisting: true },
    };
  }

  delete(filter: Document, spec: Pick<FindSpec, "limit" | "variables" | "collation"> = {}): number {
    const matches = runFind(this.candidates(filter), filter, {
      limit: spec.limit || undefined,
      variables: spec.variables,
      collation: spec.collation,
    });
    for (const doc of matches) this.commit(doc, null);
    return matches.length;
  }

  createIndex(req: IndexRequest): boolean {
    const name = req.name ?? defaultIndexName(req.key);
    const def: IndexDefinition = { name, key: req.key, unique: !!req.unique, sparse: !!req.sparse };
    const existing = this.indexes.get(name);
    const sameKey = [...this.indexes.values()].find(
      (i) => canonicalKey(i.def.key) === canonicalKey(def.key),
    );
    if (existing) {
      if (canonicalKey(existing.def.key) !== canonicalKey(def.key)) {
        throw new EngineError(
          86,
          "IndexKeySpecsConflict",
          `An existing index has the same name as the requested index. Requested index: ${JSON.stringify(def)}, existing index: ${JSON.stringify(existing.def)}`,
        );
      }
      if (existing.def.unique !== def.unique || existing.def.sparse !== def.sparse) {
        throw new EngineError(
          85,
          "IndexOptionsConflict",
          `An equivalent index already exists with the same name but different options. Requested index: ${JSON.stringify(def)}, existing index: ${JSON.stringify(existing.def)}`,
        );
      }
      return false;
    }
    if (sameKey) {
      if (sameKey.def.unique === def.unique && sameKey.def.sparse === def.sparse) return false;
      throw new EngineError(
        85,
        "IndexOptionsConflict",
        `An existing index has the same key but different options: ${sameKey.def.name}`,
      );
    }
    const index = new Index(def);
    for (const [idKey, doc] of this.docs) {
      if (index.conflict(doc, idKey) !== undefined) {
        throw new DuplicateKeyEngineError(this.ns, name, def.key, index.keyValueOf(doc));
      }
      index.add(doc, idKey);
    }
    this.indexes.set(name, index);
    return true;
  }

  dropIndex(name: string): void {
    if (name === "_id_") throw new EngineError(72, "InvalidOptions", "cannot drop _id index");
    if (!this.indexes.delete(name))
      throw new EngineError(27, "IndexNotFound", `index not found with name [${name}]`);
  }

  dropIndexes(): void {
    for (const name of this.indexes.keys()) if (name !== "_id_") this.indexes.delete(name);
  }

  listIndexes(): Document[] {
    return [...this.indexes.values()].map((i) => i.info());
  }

  get indexCount(): number {
    return this.indexes.size;
  }

  /**
   * Replaces `before` by `after` (insert when `before` is null, delete when `after` is null)
   * after checking every unique index: a refused write leaves the collection untouched.
   */
  private commit(before: Document | null, after: Document | null, replace = false): void {
    const oldKey = before ? canonicalKey(before._id) : null;
    if (after) {
      const newKey = canonicalKey(after._id);
      if (oldKey !== null && newKey !== oldKey) {
        throw new EngineError(
          66,
          "ImmutableField",
          "After applying the update, the (immutable) field '_id' was found to have been altered",
        );
      }
      for (const index of this.indexes.values()) {
        const owner = index.conflict(after, oldKey ?? `\u0000new`);
        if (owner !== undefined) {
          throw new DuplicateKeyEngineError(
            this.ns,
            index.def.name,
            index.def.key,
            index.keyValueOf(after),
          );
        }
      }
    }
    if (before && oldKey !== null) {
      const stored = this.docs.get(oldKey);
      if (stored) for (const index of this.indexes.values()) index.remove(stored, oldKey);
      // Map.set on the same key keeps the document's place in natural order.
      if (!after) this.docs.delete(oldKey);
    }
    if (after) {
      const newKey = canonicalKey(after._id);
      for (const index of this.indexes.values()) index.add(after, newKey);
      this.docs.set(newKey, after);
    }
    this.onCommit?.({ before, after, replace });
  }

  /** Candidate documents for a filter: an equality on `_id` or a single-field unique index avoids a scan. */
  private candidates(filter: Document): Iterable<Document> {
    for (const [field, value] of Object.entries(filter)) {
      if (field.startsWith("$") || !isLiteral(value)) continue;
      for (const index of this.indexes.values()) {
        if (index.fields.length !== 1 || index.fields[0] !== field) continue;
        const owner = index.lookup(value);
        if (owner === undefined) continue;
        const doc = owner === null ? undefined : this.docs.get(owner);
        return doc ? [doc] : [];
      }
    }
    return this.docs.values();
  }

  private project(doc: Document, projection: Document | undefined): Document {
    if (!projection || !Object.keys(projection).length) return deepClone(doc);
    return deepClone(runFind([doc], {}, { projection })[0] ?? {});
  }
}

/** A value an equality filter compares directly (not an operator document, not a regex). */
function isLiteral(value: unknown): boolean {
  if (value === null || value === undefined) return false;
  if (Array.isArray(value) || value instanceof RegExp) return false;
  if (isPlainObject(value)) return false;
  return true;
}

/** A replacement document (not operators, not a pipeline): a "replace" change event. */
function isReplacement(update: Document | Document[]): boolean {
  return !Array.isArray(update) && !isOperatorUpdate(update);
}
