import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { type Collection, type Db, type Document, MongoClient, MongoServerError } from "mongodb";
import { type MongoWireServer, startMongoWire } from "../support/mongo-wire";

let server: MongoWireServer;
let client: MongoClient;
let db: Db;
let users: Collection;

beforeAll(async () => {
  server = await startMongoWire();
  client = new MongoClient(server.url, { serverSelectionTimeoutMS: 300 });
  await client.connect();
  db = client.db("wire");
});
afterAll(async () => {
  await client.close();
  await server.close();
});
beforeEach(async () => {
  await db.dropDatabase();
  users = db.collection("users");
  await users.createIndex({ email: 1 }, { unique: true });
});

describe("the official driver against the wire-protocol server", () => {
  test("insertOne of a duplicate: MongoServerError 11000 with keyPattern/keyValue", async () => {
    await users.insertOne({ email: "a@x.io" });
    const err = await users.insertOne({ email: "a@x.io" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoServerError);
    const e = err as MongoServerError;
    expect(e.code).toBe(11000);
    expect(e.keyPattern).toEqual({ email: 1 });
    expect(e.keyValue).toEqual({ email: "a@x.io" });
    expect(e.message).toBe(
      'E11000 duplicate key error collection: wire.users index: email_1 dup key: { email: "a@x.io" }',
    );
  });

  test("updateOne and findOneAndUpdate into a duplicate: 11000, document unchanged", async () => {
    await users.insertOne({ email: "a@x.io" });
    const { insertedId } = await users.insertOne({ email: "b@x.io", n: 1 });
    const viaUpdate = await users
      .updateOne({ _id: insertedId }, { $set: { email: "a@x.io" } })
      .catch((e: unknown) => e);
    expect((viaUpdate as MongoServerError).code).toBe(11000);
    const viaFam = await users
      .findOneAndUpdate({ _id: insertedId }, { $set: { email: "a@x.io" }, $inc: { n: 1 } })
      .catch((e: unknown) => e);
    expect(viaFam).toBeInstanceOf(MongoServerError);
    expect((viaFam as MongoServerError).code).toBe(11000);
    expect((viaFam as MongoServerError).codeName).toBe("DuplicateKey");
    expect(await users.findOne({ _id: insertedId })).toEqual({
      _id: insertedId,
      email: "b@x.io",
      n: 1,
    });
  });

  test("insertMany unordered reports each duplicate and inserts the rest", async () => {
    const err = await users
      .insertMany([{ email: "1" }, { email: "1" }, { email: "2" }, { email: "2" }], {
        ordered: false,
      })
      .catch((e: unknown) => e);
    expect((err as MongoServerError).code).toBe(11000);
    expect(await users.countDocuments()).toBe(2);
  });

  test("findOneAndUpdate with $inc returns the updated document; upsert creates", async () => {
    const { insertedId } = await users.insertOne({ email: "a@x.io", wallet: { balance: 5 } });
    const after = await users.findOneAndUpdate(
      { _id: insertedId },
      { $inc: { "wallet.balance": 10 } },
      { returnDocument: "after" },
    );
    expect(after).toEqual({ _id: insertedId, email: "a@x.io", wallet: { balance: 15 } });
    const before = await users.findOneAndUpdate(
      { _id: insertedId },
      { $inc: { "wallet.balance": 1 } },
    );
    expect(before!.wallet.balance).toBe(15);
    const created = await users.findOneAndUpdate(
      { email: "new@x.io" },
      { $setOnInsert: { n: 1 } },
      { upsert: true, returnDocument: "after", projection: { _id: 0 } },
    );
    expect(created as Document | null).toEqual({ email: "new@x.io", n: 1 });
    const removed = await users.findOneAndDelete({ email: "new@x.io" });
    expect(removed!.n).toBe(1);
    expect(await users.countDocuments()).toBe(1);
  });

  test("update: multi, upsert, counts", async () => {
    await users.insertMany([
      { email: "1", n: 1 },
      { email: "2", n: 2 },
      { email: "3", n: 3 },
    ]);
    const many = await users.updateMany({ n: { $gte: 2 } }, { $set: { big: true } });
    expect([many.matchedCount, many.modifiedCount]).toEqual([2, 2]);
    const again = await users.updateMany({ n: { $gte: 2 } }, { $set: { big: true } });
    expect([again.matchedCount, again.modifiedCount]).toEqual([2, 0]);
    const up = await users.updateOne({ email: "4" }, { $set: { n: 4 } }, { upsert: true });
    expect(up.upsertedCount).toBe(1);
    expect((await users.findOne({ _id: up.upsertedId! }))!.email).toBe("4");
    const replaced = await users.replaceOne({ email: "4" }, { email: "4", replaced: true });
    expect(replaced.modifiedCount).toBe(1);
    expect(
      (await users.findOne({ email: "4" }, { projection: { _id: 0 } })) as Document | null,
    ).toEqual({ email: "4", replaced: true });
    expect((await users.deleteMany({ big: true })).deletedCount).toBe(2);
  });

  test("cursors: 250 documents with batchSize 100 arrive through getMore", async () => {
    const items = db.collection("items");
    await items.insertMany(Array.from({ length: 250 }, (_, i) => ({ i })));
    server.resetStats();
    const all = await items.find({}, { batchSize: 100, sort: { i: 1 } }).toArray();
    expect(all.map((d) => d.i)).toEqual(Array.from({ length: 250 }, (_, i) => i));
    expect(server.stats.commands.find).toBe(1);
    expect(server.stats.commands.getMore).toBe(2);
    const cursor = items.find({}, { batchSize: 10 });
    await cursor.next();
    await cursor.close();
    expect(server.stats.commands.killCursors).toBe(1);
  });

  test("count, distinct, estimatedDocumentCount", async () => {
    await users.insertMany([
      { email: "1", r: "a" },
      { email: "2", r: "b" },
      { email: "3", r: "a" },
    ]);
    expect(await users.countDocuments({ r: "a" })).toBe(2);
    expect(await users.estimatedDocumentCount()).toBe(3);
    expect((await users.distinct("r")).sort()).toEqual(["a", "b"]);
  });

  test("aggregate: $match, $group, $sort, $limit, $sample", async () => {
    await users.insertMany(
      Array.from({ length: 20 }, (_, i) => ({ email: `${i}`, g: i % 3, v: i })),
    );
    const groups = await users
      .aggregate([
        { $match: { v: { $lt: 9 } } },
        { $group: { _id: "$g", total: { $sum: "$v" } } },
        { $sort: { _id: 1 } },
        { $limit: 2 },
      ])
      .toArray();
    expect(groups).toEqual([
      { _id: 0, total: 9 },
      { _id: 1, total: 12 },
    ]);
    const sample = await users
      .aggregate([{ $match: { g: 0 } }, { $sample: { size: 5 } }])
      .toArray();
    expect(sample.length).toBe(5);
    expect(new Set(sample.map((d) => d.email)).size).toBe(5);
    for (const d of sample) expect(d.g).toBe(0);
  });

  test("indexes and collections: list, create, drop", async () => {
    expect((await users.listIndexes().toArray()).map((i) => i.name)).toEqual(["_id_", "email_1"]);
    await users.createIndex({ email: 1 }, { unique: true }); // idempotent
    await users.createIndex({ a: 1, b: -1 }, { unique: true, sparse: true, name: "ab" });
    const ab = (await users.indexes()).find((i) => i.name === "ab");
    expect(ab).toMatchObject({ key: { a: 1, b: -1 }, unique: true, sparse: true });
    await db.createCollection("other");
    const err = await db.createCollection("other").catch((e: unknown) => e);
    expect((err as MongoServerError).code).toBe(48);
    expect((await db.listCollections().toArray()).map((c) => c.name).sort()).toEqual([
      "other",
      "users",
    ]);
    expect(await db.collection("other").drop()).toBe(true);
    await users.dropIndex("ab");
    expect((await users.indexes()).length).toBe(2);
  });

  test("unknown commands answer CommandNotFound (59), like the server", async () => {
    const err = await db.command({ nope: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoServerError);
    expect((err as MongoServerError).code).toBe(59);
    expect((err as MongoServerError).codeName).toBe("CommandNotFound");
    expect((err as MongoServerError).message).toBe("no such command: 'nope'");
  });

  test("invalid queries and updates answer server-shaped errors", async () => {
    await users.insertOne({ email: "a" });
    const badQuery = await users.findOne({ n: { $bogus: 1 } }).catch((e: unknown) => e);
    expect((badQuery as MongoServerError).code).toBe(2);
    const badId = await users
      .updateOne({ email: "a" }, { $set: { _id: 5 } })
      .catch((e: unknown) => e);
    expect((badId as MongoServerError).code).toBe(66);
  });

  test("ping, buildInfo and the engine seen directly", async () => {
    expect(await db.command({ ping: 1 })).toMatchObject({ ok: 1 });
    expect((await db.admin().buildInfo()).version).toBe("7.0.0");
    await users.insertOne({ email: "direct" });
    expect(server.engine.db("wire").collection("users").count({ email: "direct" })).toBe(1);
  });
});
