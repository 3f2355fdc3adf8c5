import { MemoryDocumentStore } from "../../src/adapters/memory/memory-document-store";
import { MongoDocumentStore } from "../../src/adapters/mongo/mongo-document-store";
import { startMongoWire } from "../support/mongo-wire";
import { documentStoreContract } from "./document-store.contract";

const TIMEOUT_MS = 300;

documentStoreContract("memory", async () => ({
  store: new MemoryDocumentStore(),
  teardown: async () => {},
}));

const realUrl = process.env.MONGO_URL;
if (realUrl) {
  documentStoreContract("mongo (MONGO_URL)", async () => {
    const dbName = `cachesync_contract_${Date.now().toString(36)}_${process.pid}`;
    const store = await MongoDocumentStore.connect({ url: realUrl, dbName, timeoutMs: 2000 });
    return {
      store,
      timeoutMs: 2000,
      teardown: async () => {
        const { MongoClient } = await import("mongodb");
        const client = new MongoClient(realUrl, { serverSelectionTimeoutMS: 2000 });
        await client.db(dbName).dropDatabase();
        await client.close();
        await store.close();
      },
    };
  });
} else {
  documentStoreContract("mongo (driver on the wire-protocol test server)", async () => {
    const server = await startMongoWire();
    const store = await MongoDocumentStore.connect({ url: server.url, dbName: "contract", timeoutMs: TIMEOUT_MS });
    return {
      store,
      timeoutMs: TIMEOUT_MS,
      makeUnavailable: () => server.stop(),
      restore: () => server.restart(),
      teardown: async () => {
        await store.close();
        await server.close();
      },
    };
  });
}
