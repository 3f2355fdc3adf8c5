import { MemoryCacheStore } from "../../src/adapters/memory/memory-cache-store";
import { MemoryDocumentStore } from "../../src/adapters/memory/memory-document-store";
import { MongoDocumentStore } from "../../src/adapters/mongo/mongo-document-store";
import { RedisCacheStore } from "../../src/adapters/redis/redis-cache-store";
import { startMongoWire } from "../support/mongo-wire";
import { startRedis } from "../support/redis-server";
import {
  bulkInsertContract,
  bulkUpdateContract,
  writeBehindOpsContract,
} from "./write-behind-ops.contract";

writeBehindOpsContract("memory", async () => {
  const store = new MemoryCacheStore();
  return { store, prefix: "t:", teardown: () => store.close() };
});

writeBehindOpsContract("redis", async () => {
  const redis = await startRedis();
  // 3 s: on a cluster the XADD waits for a replica (WAIT), slow on a loaded 2-core machine.
  const store = new RedisCacheStore({ ...redis.adapter, timeoutMs: 3000, streamMaxLen: 100 });
  await store.ping();
  return {
    store,
    prefix: redis.prefix,
    teardown: async () => {
      await store.close();
      await redis.stop();
    },
  };
});

bulkUpdateContract("memory", async () => new MemoryDocumentStore());
bulkInsertContract("memory", async () => new MemoryDocumentStore());

const wire = startMongoWire();
bulkUpdateContract("mongo driver", async () => {
  const server = await wire;
  const url = process.env.MONGO_URL ?? server.url;
  return MongoDocumentStore.connect({ url, dbName: "bulk_contract", timeoutMs: 2000 });
});
bulkInsertContract("mongo driver", async () => {
  const server = await wire;
  const url = process.env.MONGO_URL ?? server.url;
  return MongoDocumentStore.connect({ url, dbName: "bulk_contract", timeoutMs: 2000 });
});
