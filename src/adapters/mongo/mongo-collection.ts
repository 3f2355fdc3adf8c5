import { type Collection, type Document, ObjectId } from "mongodb";
import type {
  CollectionPort,
  Doc,
  Filter,
  FindOneAndUpdateOptions,
  FindOptions,
  Update,
  UpdateOptions,
  UpdateResult,
} from "../../core/ports/document-store";
import { toPortBson } from "./bson-interop";
import { withDeadline } from "./deadline";

/** One MongoDB collection behind the port; every call is bounded by the store's timeout. */
export class MongoCollection<T extends Doc> implements CollectionPort<T> {
  constructor(
    /** The driver's collection, with the store's current write concern. */
    private readonly coll: () => Collection<Document>,
    private readonly timeoutMs: number,
    /** Resolves once the client is connected (see MongoDocumentStore.ready). */
    private readonly ready: () => Promise<void>,
  ) {}

  private run<R>(fn: () => Promise<R>): Promise<R> {
    return withDeadline(this.timeoutMs, async () => {
      await this.ready();
      return toPortBson(await fn());
    });
  }

  findOne(filter: Filter, options: FindOptions = {}): Promise<T | null> {
    return this.run(
      async () => (await this.coll().findOne(filter, findOptions(options))) as T | null,
    );
  }

  find(filter: Filter, options: FindOptions = {}): Promise<T[]> {
    return this.run(
      async () => (await this.coll().find(filter, findOptions(options)).toArray()) as T[],
    );
  }

  insertOne(doc: Omit<T, "_id"> & { _id?: ObjectId }): Promise<T> {
    // A copy: the driver would otherwise add `_id` to the caller's object.
    const { _id, ...rest } = doc as Document;
    const stored: Document = { _id: _id ?? new ObjectId(), ...rest };
    return this.run(async () => {
      await this.coll().insertOne(stored);
      return stored as T;
    });
  }

  updateOne(filter: Filter, update: Update, options: UpdateOptions = {}): Promise<UpdateResult> {
    return this.run(async () =>
      toResult(await this.coll().updateOne(filter, update, { upsert: options.upsert ?? false })),
    );
  }

  updateMany(filter: Filter, update: Update): Promise<UpdateResult> {
    return this.run(async () => toResult(await this.coll().updateMany(filter, update)));
  }

  findOneAndUpdate(
    filter: Filter,
    update: Update,
    options: FindOneAndUpdateOptions = {},
  ): Promise<T | null> {
    return this.run(async () => {
      const doc = await this.coll().findOneAndUpdate(filter, update, {
        returnDocument: options.returnDocument ?? "after",
        upsert: options.upsert ?? false,
        ...(options.sort ? { sort: options.sort } : {}),
        ...(options.projection ? { projection: options.projection } : {}),
      });
      return doc as T | null;
    });
  }

  deleteOne(filter: Filter): Promise<{ deletedCount: number }> {
    return this.run(async () => ({
      deletedCount: (await this.coll().deleteOne(filter)).deletedCount,
    }));
  }

  deleteMany(filter: Filter): Promise<{ deletedCount: number }> {
    return this.run(async () => ({
      deletedCount: (await this.coll().deleteMany(filter)).deletedCount,
    }));
  }

  countDocuments(filter: Filter = {}): Promise<number> {
    return this.run(() => this.coll().countDocuments(filter));
  }

  sample(size: number, filter: Filter = {}): Promise<T[]> {
    return this.run(
      async () =>
        (await this.coll()
          .aggregate([{ $match: filter }, { $sample: { size } }])
          .toArray()) as T[],
    );
  }
}

function findOptions(options: FindOptions): Document {
  const out: Document = {};
  if (options.sort) out.sort = options.sort;
  if (options.skip) out.skip = options.skip;
  if (options.limit) out.limit = options.limit;
  if (options.projection) out.projection = options.projection;
  return out;
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
