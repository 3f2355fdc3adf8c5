import { ObjectId } from "bson";
import { DuplicateKeyError } from "../../core/errors";
import type {
  BulkInsertResult,
  BulkUpdateOne,
  BulkUpdateResult,
  ChangeStreamHandle,
  CollectionPort,
  Doc,
  DocumentStore,
  Filter,
  FindOneAndUpdateOptions,
  FindOptions,
  IndexInfo,
  IndexSpec,
  Update,
  UpdateOptions,
  UpdateResult,
  WatchOptions,
} from "../../core/ports/document-store";
import { DuplicateKeyEngineError, Engine, type EngineCollection } from "./engine";
import { MemoryChangeStream } from "./memory-change-stream";

const DB_NAME = "cachesync";

/** The embedded default: the in-process engine behind the same port as MongoDB. */
export class MemoryDocumentStore implements DocumentStore {
  readonly kind = "memory";
  /** Exposed for tests and tooling; application code goes through `collection()`. */
  readonly engine = new Engine();

  collection<T extends Doc = Doc>(name: string): CollectionPort<T> {
    return new MemoryCollection<T>(() => this.engine.db(DB_NAME).collection(name));
  }

  async ensureIndexes(specs: readonly IndexSpec[]): Promise<void> {
    for (const spec of specs) {
      guard(() =>
        this.engine.db(DB_NAME).collection(spec.collection).createIndex({
          key: spec.key,
          name: spec.name,
          unique: spec.unique,
          sparse: spec.sparse,
        }),
      );
    }
  }

  async listIndexes(collection: string): Promise<IndexInfo[]> {
    return this.engine
      .db(DB_NAME)
      .collection(collection)
      .listIndexes()
      .map((i) => ({ name: i.name, key: i.key, unique: i.unique === true }));
  }

  /** Statement by statement, each atomic on its document, as MongoDB's unordered bulkWrite. */
  async bulkUpdate(collection: string, ops: readonly BulkUpdateOne[]): Promise<BulkUpdateResult> {
    const coll = this.engine.db(DB_NAME).collection(collection);
    let matchedCount = 0;
    let modifiedCount = 0;
    for (const op of ops) {
      const r = guard(() =>
        coll.update(op.filter, op.update as Parameters<EngineCollection["update"]>[1], {
          upsert: op.upsert,
        }),
      );
      matchedCount += r.matchedCount;
      modifiedCount += r.modifiedCount;
    }
    return { matchedCount, modifiedCount };
  }

  /** Document by document, as MongoDB's unordered insertMany; a duplicate skips only itself. */
  async bulkInsert(
    collection: string,
    docs: readonly Record<string, unknown>[],
  ): Promise<BulkInsertResult> {
    const coll = this.engine.db(DB_NAME).collection(collection);
    const duplicates: number[] = [];
    docs.forEach((doc, i) => {
      try {
        guard(() => coll.insertOne(doc));
      } catch (err) {
        if (!(err instanceof DuplicateKeyError)) throw err;
        duplicates.push(i);
      }
    });
    return { duplicates };
  }

  async ping(): Promise<void> {}

  async supportsChangeStreams(): Promise<boolean> {
    return true;
  }

  watch(collections: readonly string[], options: WatchOptions = {}): ChangeStreamHandle {
    return new MemoryChangeStream(this.engine.db(DB_NAME), collections, options);
  }

  async close(): Promise<void> {}
}

class MemoryCollection<T extends Doc> implements CollectionPort<T> {
  constructor(private readonly coll: () => EngineCollection) {}

  async findOne(filter: Filter, options: FindOptions = {}): Promise<T | null> {
    return guard(() => this.coll().findOne(filter, options) as T | null);
  }

  async find(filter: Filter, options: FindOptions = {}): Promise<T[]> {
    return guard(() => this.coll().find(filter, options) as T[]);
  }

  async insertOne(doc: Omit<T, "_id"> & { _id?: ObjectId }): Promise<T> {
    return guard(() => this.coll().insertOne(doc) as T);
  }

  async updateOne(
    filter: Filter,
    update: Update,
    options: UpdateOptions = {},
  ): Promise<UpdateResult> {
    return guard(() => toResult(this.coll().update(filter, update, { upsert: options.upsert })));
  }

  async updateMany(filter: Filter, update: Update): Promise<UpdateResult> {
    return guard(() => toResult(this.coll().update(filter, update, { multi: true })));
  }

  async findOneAndUpdate(
    filter: Filter,
    update: Update,
    options: FindOneAndUpdateOptions = {},
  ): Promise<T | null> {
    return guard(
      () =>
        this.coll().findAndModify(filter, {
          update,
          upsert: options.upsert,
          sort: options.sort,
          projection: options.projection,
          returnNew: (options.returnDocument ?? "after") === "after",
        }).value as T | null,
    );
  }

  async deleteOne(filter: Filter): Promise<{ deletedCount: number }> {
    return guard(() => ({ deletedCount: this.coll().delete(filter, { limit: 1 }) }));
  }

  async deleteMany(filter: Filter): Promise<{ deletedCount: number }> {
    return guard(() => ({ deletedCount: this.coll().delete(filter) }));
  }

  async countDocuments(filter: Filter = {}): Promise<number> {
    return guard(() => this.coll().count(filter));
  }

  async sample(size: number, filter: Filter = {}): Promise<T[]> {
    return guard(() => this.coll().aggregate([{ $match: filter }, { $sample: { size } }]) as T[]);
  }
}

function toResult(r: {
  matchedCount: number;
  modifiedCount: number;
  upsertedId: unknown;
}): UpdateResult {
  return {
    matchedCount: r.matchedCount,
    modifiedCount: r.modifiedCount,
    upsertedId: r.upsertedId instanceof ObjectId ? r.upsertedId : null,
  };
}

function guard<R>(fn: () => R): R {
  try {
    return fn();
  } catch (err) {
    if (err instanceof DuplicateKeyEngineError)
      throw new DuplicateKeyError(err.keyPattern, err.keyValue);
    throw err;
  }
}
