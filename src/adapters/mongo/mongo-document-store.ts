import {
  type Db,
  type Document,
  MongoBulkWriteError,
  MongoClient,
  type ServerDescription,
} from "mongodb";
import { StoreUnavailableError } from "../../core/errors";
import type {
  BulkInsertResult,
  BulkUpdateOne,
  BulkUpdateResult,
  ChangeStreamHandle,
  CollectionPort,
  Doc,
  DocumentStore,
  IndexInfo,
  IndexSpec,
  WatchOptions,
} from "../../core/ports/document-store";
import { withDeadline } from "./deadline";
import { DUPLICATE_KEY_CODES as DUPLICATE_KEY, mapMongoError } from "./errors";
import { MongoChangeStream } from "./mongo-change-stream";
import { MongoCollection } from "./mongo-collection";

export interface MongoConnectOptions {
  url: string;
  dbName: string;
  /** Bound on every call: server selection, connecting, socket reads and the call as a whole. */
  timeoutMs: number;
}

/**
 * The production document store: MongoDB through the official driver.
 *
 * Writes use `w: "majority"` on a replica set or a sharded cluster: an acknowledged write then
 * survives a failover, so the cache never holds a version MongoDB could roll back. The choice
 * follows what the driver learns of each server (every hello, at the first connect, a later one
 * after an outage, and each reconnect), never a single look at start-up that an outage could
 * miss; a URL's own `w=` wins.
 */
export class MongoDocumentStore implements DocumentStore {
  readonly kind = "mongo";
  private readonly plain: Db;
  private readonly majority: Db;
  private writeMajority = false;
  private connected = false;

  private constructor(
    private readonly client: MongoClient,
    dbName: string,
    private readonly timeoutMs: number,
    urlSetsW: boolean,
  ) {
    this.plain = client.db(dbName);
    this.majority = client.db(dbName, { writeConcern: { w: "majority" } });
    if (!urlSetsW) client.on("serverDescriptionChanged", (e) => this.learn(e.newDescription));
  }

  /** The database handle with the write concern the deployment calls for, as now known. */
  private get db(): Db {
    return this.writeMajority ? this.majority : this.plain;
  }

  private learn(server: ServerDescription): void {
    // A server not reached yet (Unknown) tells nothing: the last known answer stands.
    if (server.type === "Standalone") this.writeMajority = false;
    else if (server.setName || server.type === "Mongos" || server.type === "LoadBalancer")
      this.writeMajority = true;
  }

  /**
   * Creates the client and tries one connection within `timeoutMs`. A server that is down at
   * start-up does not fail this: the process starts, `ping()` (and /ready) report the outage,
   * calls reject with StoreUnavailableError, and the driver connects as soon as the server is
   * back. An invalid URL or option throws at once (a configuration error, not an outage).
   */
  static async connect(opts: MongoConnectOptions): Promise<MongoDocumentStore> {
    const client = new MongoClient(opts.url, {
      serverSelectionTimeoutMS: opts.timeoutMs,
      connectTimeoutMS: opts.timeoutMs,
      // `timeoutMS` (CSOT) is ignored by driver 7; a socket silent for this long fails the call.
      socketTimeoutMS: opts.timeoutMs,
      waitQueueTimeoutMS: opts.timeoutMs,
    });
    const store = new MongoDocumentStore(
      client,
      opts.dbName,
      opts.timeoutMs,
      /[?&]w=/i.test(opts.url),
    );
    await withDeadline(opts.timeoutMs, store.ready).catch(() => {});
    return store;
  }

  /**
   * The driver closes its topology when the first connect fails and then answers every call
   * with "Topology is closed"; connecting again creates a fresh one. So until one connect has
   * succeeded, each call tries (the driver dedupes concurrent attempts). After that the driver's
   * monitor reconnects by itself across outages.
   */
  private readonly ready = async (): Promise<void> => {
    if (this.connected) return;
    await this.client.connect();
    this.connected = true;
  };

  collection<T extends Doc = Doc>(name: string): CollectionPort<T> {
    // Resolved per call: the write concern may be learnt after the collection was handed out.
    const plain = this.plain.collection(name);
    const majority = this.majority.collection(name);
    const current = () => (this.writeMajority ? majority : plain);
    return new MongoCollection<T>(current, this.timeoutMs, this.ready);
  }

  async ensureIndexes(specs: readonly IndexSpec[]): Promise<void> {
    const byCollection = new Map<string, IndexSpec[]>();
    for (const spec of specs)
      byCollection.set(spec.collection, [...(byCollection.get(spec.collection) ?? []), spec]);
    for (const [name, list] of byCollection) {
      const indexes = list.map((s) => ({
        key: s.key,
        ...(s.name ? { name: s.name } : {}),
        ...(s.unique ? { unique: true } : {}),
        ...(s.sparse ? { sparse: true } : {}),
      }));
      await withDeadline(this.timeoutMs, async () => {
        await this.ready();
        return this.db.collection(name).createIndexes(indexes);
      });
    }
  }

  async listIndexes(collection: string): Promise<IndexInfo[]> {
    return withDeadline(this.timeoutMs, async () => {
      await this.ready();
      try {
        const list = await this.db.collection(collection).listIndexes().toArray();
        return list.map((i) => ({ name: String(i.name), key: i.key, unique: i.unique === true }));
      } catch (err) {
        // NamespaceNotFound: a collection that was never written has no index yet.
        if ((err as { code?: number }).code === 26) return [];
        throw err;
      }
    });
  }

  async bulkUpdate(collection: string, ops: readonly BulkUpdateOne[]): Promise<BulkUpdateResult> {
    if (ops.length === 0) return { matchedCount: 0, modifiedCount: 0 };
    return withDeadline(this.timeoutMs, async () => {
      await this.ready();
      const res = await this.db.collection(collection).bulkWrite(
        ops.map((op) => ({
          updateOne: {
            filter: op.filter,
            update: op.update as Document | Document[],
            upsert: op.upsert ?? false,
          },
        })),
        { ordered: false },
      );
      return { matchedCount: res.matchedCount, modifiedCount: res.modifiedCount };
    });
  }

  async bulkInsert(
    collection: string,
    docs: readonly Record<string, unknown>[],
  ): Promise<BulkInsertResult> {
    if (docs.length === 0) return { duplicates: [] };
    return withDeadline(this.timeoutMs, async () => {
      await this.ready();
      try {
        // Copies, and ids from the server where none is given (as an upsert's): the order of
        // `_id`s is then the server's order of the inserts, whichever instance sent them.
        await this.db.collection(collection).insertMany(
          docs.map((d) => ({ ...d })),
          { ordered: false, forceServerObjectId: true },
        );
        return { duplicates: [] };
      } catch (err) {
        if (!(err instanceof MongoBulkWriteError)) throw err;
        const failed = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
        if (failed.length === 0 || failed.some((e) => !DUPLICATE_KEY.has(e.code))) throw err;
        return { duplicates: failed.map((e) => e.index) };
      }
    });
  }

  async ping(): Promise<void> {
    await withDeadline(this.timeoutMs, async () => {
      await this.ready();
      return this.db.command({ ping: 1 });
    });
  }

  async supportsChangeStreams(): Promise<boolean> {
    const hello = await withDeadline(this.timeoutMs, async () => {
      await this.ready();
      return this.db.admin().command({ hello: 1 });
    });
    // A replica-set member names its set; mongos answers "isdbgrid".
    return typeof hello.setName === "string" || hello.msg === "isdbgrid";
  }

  watch(collections: readonly string[], options: WatchOptions = {}): ChangeStreamHandle {
    return new MongoChangeStream(this.plain, this.ready, collections, options);
  }

  async close(): Promise<void> {
    // Closing sends endSessions; a stalled server must not hold shutdown, so force after the bound.
    try {
      await withDeadline(this.timeoutMs, () => this.client.close());
    } catch (err) {
      if (!(mapMongoError(err) instanceof StoreUnavailableError)) throw err;
      await this.client.close(true).catch(() => {});
    }
  }
}
