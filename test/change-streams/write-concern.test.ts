/**
 * Service writes carry `w: "majority"` on a replica set (an acknowledged version can never be
 * rolled back by a failover), w:1 on a standalone, and the choice is not lost when MongoDB was
 * unreachable at the first connect. The wire test server records the write concern it receives.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { MongoDocumentStore } from "../../src/adapters/mongo/mongo-document-store";
import { type MongoWireServer, startMongoWire } from "../support/mongo-wire";
import { type RedisHarness, startRedis } from "../support/redis-server";
import { seedUser } from "../support/seed";
import { createTestStack } from "../support/stack";
import { until } from "./helpers";

let redis: RedisHarness;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis.stop());

/** The write concerns `wire` received for writes to `<db>.<collection>`, by `w`. */
function concerns(wire: MongoWireServer, db: string, collection: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, n] of Object.entries(wire.stats.writeConcerns)) {
    if (!key.startsWith(`${db}.${collection} `)) continue;
    const w = key.slice(key.lastIndexOf(" w:") + 3);
    out[w] = (out[w] ?? 0) + n;
  }
  return out;
}

/** A registration, a profile update through the cache engine and a listing: service writes. */
async function serviceWrites(mongo: MongoWireServer) {
  const stack = await createTestStack({ mongo, redis, env: { CHANGE_STREAMS: "off" } });
  try {
    const u = await seedUser(stack.ctx);
    await stack.ctx.use("cacheSync").updateUserWithSync(u.id, { $set: { bio: "majority" } });
    return concerns(mongo, stack.dbName, "users");
  } finally {
    await stack.close();
  }
}

describe("the write concern of service writes", () => {
  test("a replica set (--replSet rs0): every write to users asks for majority", async () => {
    const mongo = await startMongoWire({ replSet: "rs0" });
    try {
      const seen = await serviceWrites(mongo);
      expect(seen.majority).toBeGreaterThanOrEqual(2);
      expect(Object.keys(seen)).toEqual(["majority"]);
    } finally {
      await mongo.close();
    }
  });

  test("a standalone: the server's default (w:1), as majority buys nothing there", async () => {
    const mongo = await startMongoWire();
    try {
      const seen = await serviceWrites(mongo);
      expect(seen.default).toBeGreaterThanOrEqual(2);
      expect(Object.keys(seen)).toEqual(["default"]);
    } finally {
      await mongo.close();
    }
  });

  test("MongoDB unreachable at the first connect: majority once the replica set answers", async () => {
    const mongo = await startMongoWire({ replSet: "rs0" });
    await mongo.stop();
    const store = await MongoDocumentStore.connect({
      url: mongo.url,
      dbName: "cs_wc_late",
      timeoutMs: 300,
    });
    try {
      await mongo.listen();
      // The driver gives up on its first topology; the store connects afresh on a later call.
      await until(
        () =>
          store.ping().then(
            () => true,
            () => false,
          ),
        10_000,
      );
      const coll = store.collection("users");
      await coll.insertOne({ _id: new ObjectId(), bio: "after the outage" });
      await coll.updateOne({ bio: "after the outage" }, { $set: { bio: "still majority" } });
      expect(concerns(mongo, "cs_wc_late", "users")).toEqual({ majority: 2 });
    } finally {
      await store.close();
      await mongo.close();
    }
  });

  test("a URL's own w wins", async () => {
    const mongo = await startMongoWire({ replSet: "rs0" });
    const store = await MongoDocumentStore.connect({
      url: `${mongo.url}&w=1`,
      dbName: "cs_wc_url",
      timeoutMs: 1000,
    });
    try {
      await store.collection("users").insertOne({ _id: new ObjectId() });
      expect(concerns(mongo, "cs_wc_url", "users")).toEqual({ "1": 1 });
    } finally {
      await store.close();
      await mongo.close();
    }
  });
});
