import type { ObjectId } from "bson";

/** A MongoDB-shaped document. `_id` is an ObjectId in both adapters. */
export type Doc = { _id: ObjectId; [field: string]: unknown };
/** A MongoDB query filter (already sanitized where it came from a client). */
export type Filter = Record<string, unknown>;
/** A MongoDB update document (`{ $set: …, $inc: … }`) or pipeline-free replacement operators. */
export type Update = Record<string, unknown>;
export type Sort = Record<string, 1 | -1>;

export interface FindOptions {
  sort?: Sort;
  limit?: number;
  skip?: number;
  /** Inclusion or exclusion projection, MongoDB semantics. */
  projection?: Record<string, 0 | 1>;
}

export interface UpdateOptions {
  upsert?: boolean;
}

export interface FindOneAndUpdateOptions extends UpdateOptions {
  /** Default "after": the write-through path always wants the new document. */
  returnDocument?: "before" | "after";
  sort?: Sort;
  projection?: Record<string, 0 | 1>;
}

export interface UpdateResult {
  matchedCount: number;
  modifiedCount: number;
  upsertedId: ObjectId | null;
}

export interface IndexSpec {
  collection: string;
  key: Record<string, 1 | -1>;
  unique?: boolean;
  name?: string;
  /** Only for unique indexes that must ignore documents lacking the field. */
  sparse?: boolean;
}

/** An index as the server reports it (what the doctor compares with the declared ones). */
export interface IndexInfo {
  name: string;
  key: Record<string, unknown>;
  unique?: boolean;
}

/**
 * One collection, the subset of the MongoDB driver's `Collection` the product uses.
 * Every method rejects with `StoreUnavailableError` when the store cannot be reached within its
 * timeout, and with `DuplicateKeyError` when a unique index refuses a write.
 */
export interface CollectionPort<T extends Doc = Doc> {
  /** First matching document or null. */
  findOne(filter: Filter, options?: FindOptions): Promise<T | null>;
  /** All matching documents, honouring sort/skip/limit/projection. */
  find(filter: Filter, options?: FindOptions): Promise<T[]>;
  /** Inserts one document (an `_id` is generated when absent) and returns it as stored. */
  insertOne(doc: Omit<T, "_id"> & { _id?: ObjectId }): Promise<T>;
  updateOne(filter: Filter, update: Update, options?: UpdateOptions): Promise<UpdateResult>;
  updateMany(filter: Filter, update: Update): Promise<UpdateResult>;
  /** Atomic find-and-modify: the single primitive behind every race-free write. */
  findOneAndUpdate(
    filter: Filter,
    update: Update,
    options?: FindOneAndUpdateOptions,
  ): Promise<T | null>;
  deleteOne(filter: Filter): Promise<{ deletedCount: number }>;
  deleteMany(filter: Filter): Promise<{ deletedCount: number }>;
  countDocuments(filter?: Filter): Promise<number>;
  /** `$sample` of up to `size` matching documents (random, without replacement). */
  sample(size: number, filter?: Filter): Promise<T[]>;
}

/**
 * One statement of a bulk update (the driver's `bulkWrite` `updateOne`). `update` may be a
 * pipeline (`[{ $set: … }]`), so a statement can compute from the stored document itself.
 */
export interface BulkUpdateOne {
  filter: Filter;
  update: Update | readonly Update[];
  upsert?: boolean;
}

/** What a bulk update did: statements that matched a document, and those that changed it. */
export interface BulkUpdateResult {
  matchedCount: number;
  modifiedCount: number;
}

/** What a bulk insert did: the positions (in the given documents) of the duplicates it refused. */
export interface BulkInsertResult {
  duplicates: number[];
}

/** An opaque stream position (MongoDB's resume token, `{ _data }`): store it as a document. */
export type ResumeToken = Record<string, unknown>;

/** One committed change to a watched collection, whoever made it. */
export interface ChangeEvent {
  op: "insert" | "update" | "replace" | "delete";
  collection: string;
  /** The changed document's `_id`. */
  id: unknown;
  /**
   * insert/replace: the document as written; update: the document as it is now (looked up
   * when the event is read; null once deleted); delete: absent.
   */
  fullDocument?: Doc | null;
  /** update only: the fields set (dotted paths) and removed. */
  updatedFields?: string[];
  removedFields?: string[];
  /** When the database committed it (wall clock of the primary), for the lag. */
  committedAt: Date;
  /** Resuming after this token starts with the next event. */
  token: ResumeToken;
}

export interface WatchOptions {
  /** Start after this position; absent: from now. */
  resumeAfter?: ResumeToken;
  /** How long one `next()` waits for an event before answering null. */
  maxAwaitMs?: number;
}

/** An open change stream (`watch`). Reconnects by itself across transient failures. */
export interface ChangeStreamHandle {
  /** The next event, or null when none came within `maxAwaitMs`. */
  next(): Promise<ChangeEvent | null>;
  /**
   * Where to resume to continue after everything `next()` returned so far (including quiet
   * periods: the server's post-batch token), or null before the stream is opened.
   */
  readonly resumeToken: ResumeToken | null;
  close(): Promise<void>;
}

/**
 * The stored position cannot be resumed from: history trimmed (ChangeStreamHistoryLost) or a
 * token the server does not accept. Whoever watches must reconcile and start afresh.
 */
export class ResumePositionLostError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = "ResumePositionLostError";
  }
}

/** The database port: MongoDB in production, the embedded engine by default. */
export interface DocumentStore {
  /** "mongo" or "memory": logged at start-up and reported by /ready. */
  readonly kind: string;
  collection<T extends Doc = Doc>(name: string): CollectionPort<T>;
  /** Idempotent; creates what is missing. */
  ensureIndexes(specs: readonly IndexSpec[]): Promise<void>;
  /** The collection's indexes (`_id_` included); `[]` when the collection does not exist. */
  listIndexes(collection: string): Promise<IndexInfo[]>;
  /**
   * Many single-document updates of one collection in one round trip (`bulkWrite`, unordered):
   * one MongoDB write command however many statements. Raw store only: no hook sees it, so the
   * caller does what hooks would (versions, cache) itself (plugins/cache/write-behind does).
   */
  bulkUpdate(collection: string, ops: readonly BulkUpdateOne[]): Promise<BulkUpdateResult>;
  /**
   * Many documents inserted in one round trip (`insertMany`, unordered): the ones a unique
   * index refuses are reported by position, the others are inserted. Raw store only, like
   * bulkUpdate. Rejects on any other failure (then any subset may have been inserted).
   */
  bulkInsert(
    collection: string,
    docs: readonly Record<string, unknown>[],
  ): Promise<BulkInsertResult>;
  /** Resolves when the store answers; rejects with StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  /**
   * Whether `watch` can work here (a replica set or sharded cluster; the embedded engine).
   * Rejects with StoreUnavailableError when the store cannot be asked.
   */
  supportsChangeStreams(): Promise<boolean>;
  /**
   * Change streams over `collections` (MongoDB's `db.watch` with `fullDocument: "updateLookup"`).
   * The first `next()` rejects with ResumePositionLostError when `resumeAfter` cannot be used.
   */
  watch(collections: readonly string[], options?: WatchOptions): ChangeStreamHandle;
  close(): Promise<void>;
}

export const READ_OPS = ["findOne", "find", "countDocuments", "sample"] as const;
export const WRITE_OPS = [
  "insertOne",
  "updateOne",
  "updateMany",
  "findOneAndUpdate",
  "deleteOne",
  "deleteMany",
] as const;
export type RepoOp = (typeof READ_OPS)[number] | (typeof WRITE_OPS)[number];
