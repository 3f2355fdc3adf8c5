import { type Db, MongoClient } from "mongodb";
import { MemoryDocumentStore } from "../../src/adapters/memory/memory-document-store";
import { MongoDocumentStore } from "../../src/adapters/mongo/mongo-document-store";
import type { DocumentStore } from "../../src/core/ports/document-store";
import { startMongoWire } from "../support/mongo-wire";

/**
 * One MongoDB the conformance suite runs against. Every backend gets the same tests and the
 * same expectations; `embedded` only selects whether the features of the explicit refusal list
 * (refusals.ts) are expected to work or to be refused with their documented error.
 */
export interface Backend {
  name: string;
  /** True for the embedded engine (directly or behind the wire-protocol test server). */
  embedded: boolean;
  /** The document-store port the application uses. */
  store: DocumentStore;
  /** The official driver on the same data, for options the port does not expose; absent for the in-process engine. */
  db?: Db;
  teardown(): Promise<void>;
}

export interface BackendFactory {
  label: string;
  /** Whether the backend is reached through the official driver (so `db` is set). */
  driver: boolean;
  start(): Promise<Backend>;
}

const realUrl = process.env.MONGO_URL;

/** The in-process engine behind the memory document-store adapter (what `bun start` runs on). */
export const memoryBackend: BackendFactory = {
  label: "embedded engine (memory adapter)",
  driver: false,
  start: async () => ({
    name: "embedded engine (memory adapter)",
    embedded: true,
    store: new MemoryDocumentStore(),
    teardown: async () => {},
  }),
};

/** The wire-protocol test server, through the official driver (what the project's tests use). */
export const wireBackend: BackendFactory = {
  label: "wire-protocol test server (driver)",
  driver: true,
  start: async () => {
    const server = await startMongoWire();
    const dbName = "conformance";
    const store = await MongoDocumentStore.connect({ url: server.url, dbName, timeoutMs: 5000 });
    const client = await new MongoClient(server.url).connect();
    return {
      name: "wire-protocol test server (driver)",
      embedded: true,
      store,
      db: client.db(dbName),
      teardown: async () => {
        await client.close();
        await store.close();
        await server.close();
      },
    };
  },
};

/** A real mongod (`MONGO_URL`), in a database of its own dropped afterwards. */
export const mongodBackend: BackendFactory | undefined = realUrl
  ? {
      label: "mongod (MONGO_URL)",
      driver: true,
      start: async () => {
        const dbName = `cachesync_conformance_${Date.now().toString(36)}_${process.pid}`;
        const store = await MongoDocumentStore.connect({ url: realUrl, dbName, timeoutMs: 5000 });
        const client = await new MongoClient(realUrl, { serverSelectionTimeoutMS: 5000 }).connect();
        return {
          name: "mongod (MONGO_URL)",
          embedded: false,
          store,
          db: client.db(dbName),
          teardown: async () => {
            await client.db(dbName).dropDatabase();
            await client.close();
            await store.close();
          },
        };
      },
    }
  : undefined;

/** Every backend this run can reach. */
export const backends: BackendFactory[] = [
  memoryBackend,
  wireBackend,
  ...(mongodBackend ? [mongodBackend] : []),
];

let seq = 0;
/** A collection name no other test uses. */
export function freshName(prefix = "c"): string {
  return `${prefix}_${Date.now().toString(36)}_${seq++}`;
}
