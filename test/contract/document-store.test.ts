import { describe, expect, test } from "bun:test";
import { MemoryDocumentStore } from "../../src/adapters/memory/memory-document-store";
import { MongoDocumentStore } from "../../src/adapters/mongo/mongo-document-store";
import { StoreUnavailableError } from "../../src/core/errors";
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
    const store = await MongoDocumentStore.connect({
      url: server.url,
      dbName: "contract",
      timeoutMs: TIMEOUT_MS,
    });
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

describe("MongoDocumentStore: never a hang", () => {
  test("a paused server: calls reject with StoreUnavailableError within about the timeout", async () => {
    const server = await startMongoWire();
    const store = await MongoDocumentStore.connect({
      url: server.url,
      dbName: "hang",
      timeoutMs: TIMEOUT_MS,
    });
    try {
      const users = store.collection("users");
      const doc = await users.insertOne({ email: "p@x.io" });
      server.pause();
      const started = performance.now();
      const results = await Promise.allSettled([
        users.findOne({ _id: doc._id }),
        users.findOneAndUpdate({ _id: doc._id }, { $set: { n: 1 } }),
        store.ping(),
      ]);
      const took = performance.now() - started;
      for (const r of results) {
        expect(r.status).toBe("rejected");
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError);
      }
      expect(took).toBeLessThan(TIMEOUT_MS + 250);
      server.resume();
      const deadline = Date.now() + 5000;
      let back = null;
      while (!back && Date.now() < deadline)
        back = await users.findOne({ _id: doc._id }).catch(() => null);
      expect(back?.email).toBe("p@x.io");
    } finally {
      server.resume();
      await store.close();
      await server.close();
    }
  });

  test("connect while the server is down resolves; calls fail fast, then work once it is up", async () => {
    const server = await startMongoWire();
    await server.stop();
    try {
      const started = performance.now();
      const store = await MongoDocumentStore.connect({
        url: server.url,
        dbName: "late",
        timeoutMs: TIMEOUT_MS,
      });
      expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + 250);
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      await server.restart();
      await store.ping();
      const doc = await store.collection("users").insertOne({ email: "late@x.io" });
      expect((await store.collection("users").findOne({ _id: doc._id }))?.email).toBe("late@x.io");
      await store.close();
    } finally {
      await server.close();
    }
  });
});
