/**
 * The change-stream contract the cache relies on, checked through the official driver: against
 * the wire-protocol test server started with `--replSet`, or against a real replica set when
 * MONGO_URL is set (the tests that stop, trim or reconfigure the server run on the test server only).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import {
  type ChangeStream,
  type ChangeStreamDocument,
  type Collection,
  type Db,
  type Document,
  MongoClient,
  MongoServerError,
  type ResumeToken,
} from "mongodb";
import { type MongoWireServer, startMongoWire } from "../support/mongo-wire";

const REAL = process.env.MONGO_URL;
let server: MongoWireServer | undefined;
let client: MongoClient;
let db: Db;
let users: Collection;
const streams: ChangeStream[] = [];

beforeAll(async () => {
  if (!REAL) server = await startMongoWire({ replSet: "rs0" });
  client = new MongoClient(REAL ?? (server as MongoWireServer).url, {
    serverSelectionTimeoutMS: 5000,
  });
  await client.connect();
  db = client.db(`cs_stream_${Math.random().toString(36).slice(2, 8)}`);
});
afterAll(async () => {
  await Promise.all(streams.map((s) => s.close()));
  await db.dropDatabase();
  await client.close();
  await server?.close();
});
beforeEach(async () => {
  users = db.collection(`users_${Math.random().toString(36).slice(2, 8)}`);
  await users.insertOne({ seed: true });
});

function watch(target: Collection | Db, pipeline: Document[] = [], opts: Document = {}) {
  const s = target.watch(pipeline, {
    fullDocument: "updateLookup",
    maxAwaitTimeMS: 200,
    ...opts,
  });
  streams.push(s);
  return s;
}

/** The next `n` events, failing after `ms` instead of waiting forever. */
async function take(s: ChangeStream, n: number, ms = 5000): Promise<ChangeStreamDocument[]> {
  const out: ChangeStreamDocument[] = [];
  const deadline = Date.now() + ms;
  while (out.length < n) {
    if (Date.now() > deadline) throw new Error(`got ${out.length} of ${n} events within ${ms} ms`);
    const e = await s.tryNext();
    if (e) out.push(e);
  }
  return out;
}

/** Opens the stream on the server before the test writes (the driver opens it lazily). */
async function opened(s: ChangeStream): Promise<ChangeStream> {
  await s.tryNext();
  return s;
}

const insertedField = (e: ChangeStreamDocument | undefined, field: string): unknown =>
  e?.operationType === "insert" ? e.fullDocument[field] : undefined;

describe("a replica set as the driver sees it", () => {
  test("hello: a writable primary with a set name", async () => {
    const hello = await db.admin().command({ hello: 1 });
    expect(hello.isWritablePrimary).toBe(true);
    expect(typeof hello.setName).toBe("string");
    expect(hello.hosts.length).toBeGreaterThan(0);
    if (server) expect(hello.setName).toBe("rs0");
  });

  test("retryable writes (the driver sends a txnNumber) and w: majority are accepted", async () => {
    const majority = { writeConcern: { w: "majority" as const } };
    const res = await users.insertOne({ n: 1 }, majority);
    await users.updateOne({ _id: res.insertedId }, { $inc: { n: 1 } }, majority);
    expect((await users.findOne({ _id: res.insertedId }))?.n).toBe(2);
  });
});

describe("collection.watch()", () => {
  test("insert, update, replace and delete events in commit order, shaped as mongod's", async () => {
    const s = await opened(watch(users));
    const { insertedId: id } = await users.insertOne({
      name: "a",
      wallet: { balance: 1, currency: "EUR" },
      tmp: 1,
    });
    await users.updateOne(
      { _id: id },
      { $set: { "wallet.balance": 5, bio: "x" }, $unset: { tmp: "" } },
    );
    await users.replaceOne({ _id: id }, { name: "b" });
    await users.deleteOne({ _id: id });
    const events = await take(s, 4);
    expect(events.map((e) => e.operationType)).toEqual(["insert", "update", "replace", "delete"]);
    const [ins, upd, rep] = events;
    if (ins?.operationType !== "insert" || upd?.operationType !== "update")
      throw new Error("unexpected event types");
    if (rep?.operationType !== "replace") throw new Error("unexpected event type");
    expect(ins.fullDocument).toMatchObject({ name: "a", tmp: 1 });
    expect(ins.ns).toEqual({ db: db.databaseName, coll: users.collectionName });
    expect(ins.documentKey._id.toHexString()).toBe(id.toHexString());
    expect(upd.updateDescription.updatedFields).toEqual({ "wallet.balance": 5, bio: "x" });
    expect(upd.updateDescription.removedFields).toEqual(["tmp"]);
    // updateLookup reads the document when the event is returned: deleted by then.
    expect(upd.fullDocument ?? null).toBeNull();
    expect(rep.fullDocument).toMatchObject({ name: "b" });
    const times = events.map((e) => BigInt(String((e as { clusterTime: unknown }).clusterTime)));
    for (let i = 1; i < times.length; i++)
      expect(times[i] as bigint).toBeGreaterThan(times[i - 1] as bigint);
  });

  test("updateLookup returns the current document", async () => {
    const s = await opened(watch(users));
    const { insertedId: id } = await users.insertOne({ n: 0 });
    await users.updateOne({ _id: id }, { $set: { n: 1 } });
    const [, upd] = await take(s, 2);
    expect(upd?.operationType === "update" && upd.fullDocument?.n).toBe(1);
  });

  test("an idle getMore waits (awaitData) and wakes up for a write; the token advances", async () => {
    const s = await opened(watch(users, [], { maxAwaitTimeMS: 1500 }));
    const before = JSON.stringify(s.resumeToken);
    const started = Date.now();
    const next = s.tryNext();
    await Bun.sleep(100);
    await users.insertOne({ late: true });
    expect((await next)?.operationType).toBe("insert");
    // Woken by the write, not by the end of the 1.5 s wait.
    expect(Date.now() - started).toBeLessThan(1200);
    expect(JSON.stringify(s.resumeToken)).not.toBe(before);
  });

  test("resumeAfter / startAfter a token: exactly the events after it", async () => {
    const s = await opened(watch(users));
    for (let i = 0; i < 4; i++) await users.insertOne({ i });
    const events = await take(s, 4);
    const token = events[1]?._id as ResumeToken;
    for (const key of ["resumeAfter", "startAfter"]) {
      const again = watch(users, [], { [key]: token });
      const rest = await take(again, 2);
      expect(rest.map((e) => insertedField(e, "i"))).toEqual([2, 3]);
      await again.close();
    }
  });

  test("a $match after $changeStream filters events", async () => {
    const s = await opened(watch(users, [{ $match: { operationType: "delete" } }]));
    const { insertedId } = await users.insertOne({ x: 1 });
    await users.deleteOne({ _id: insertedId });
    const [e] = await take(s, 1);
    expect(e?.operationType).toBe("delete");
  });

  test("db.watch() sees every collection of the database", async () => {
    const s = await opened(watch(db));
    const other = db.collection(`${users.collectionName}_other`);
    await users.insertOne({ a: 1 });
    await other.insertOne({ b: 1 });
    const seen = (await take(s, 2)).map((e) => ("ns" in e && "coll" in e.ns ? e.ns.coll : ""));
    expect(seen).toEqual([users.collectionName, other.collectionName]);
  });

  test("an unknown resume token is refused with a server error", async () => {
    const s = watch(users, [], { resumeAfter: { _data: "not-a-token" } });
    const err = await s.tryNext().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoServerError);
  });
});

/** A server and client of their own, for tests that stop, trim or reconfigure the server. */
async function withServer(
  opts: Parameters<typeof startMongoWire>[0],
  run: (wire: MongoWireServer, coll: Collection, c: MongoClient) => Promise<void>,
): Promise<void> {
  const wire = await startMongoWire(opts);
  const c = new MongoClient(wire.url, { serverSelectionTimeoutMS: 5000, connectTimeoutMS: 500 });
  try {
    await run(wire, c.db("own").collection("t"), c);
  } finally {
    await c.close(true);
    await wire.close();
  }
}

if (!REAL) {
  describe("what only the test server can show", () => {
    test("the driver resumes by itself after the server dropped every connection", async () => {
      await withServer({ replSet: "rs0" }, async (wire, coll) => {
        const s = await opened(watch(coll));
        await coll.insertOne({ step: 1 });
        expect((await take(s, 1))[0]?.operationType).toBe("insert");
        await wire.stop();
        // Written while the stream is cut off: it must still arrive, once.
        wire.engine.db(coll.dbName).collection(coll.collectionName).insertOne({ step: 2 });
        await wire.listen();
        await coll.insertOne({ step: 3 });
        const steps = (await take(s, 2, 10_000)).map((e) => insertedField(e, "step"));
        expect(steps).toEqual([2, 3]);
      });
    });

    test("a resume point trimmed out of the history: ChangeStreamHistoryLost (286)", async () => {
      await withServer({ replSet: "rs0" }, async (wire, coll) => {
        const s = await opened(watch(coll));
        await coll.insertOne({ n: 1 });
        const [first] = await take(s, 1);
        await coll.insertOne({ n: 2 });
        wire.engine.db(coll.dbName).changes.trim(0);
        const late = watch(coll, [], { resumeAfter: first?._id });
        const err = (await late.tryNext().catch((e: unknown) => e)) as MongoServerError;
        expect(err).toBeInstanceOf(MongoServerError);
        expect(err.code).toBe(286);
        expect(err.codeName).toBe("ChangeStreamHistoryLost");
      });
    });

    test("the history is bounded: the oldest events fall off past changeHistory", async () => {
      await withServer({ replSet: "rs0", changeHistory: 5 }, async (wire, coll) => {
        const s = await opened(watch(coll));
        await coll.insertOne({ n: 0 });
        const [first] = await take(s, 1);
        for (let n = 1; n <= 10; n++) await coll.insertOne({ n });
        expect(wire.engine.db(coll.dbName).changes.size).toBe(5);
        const late = watch(coll, [], { resumeAfter: first?._id });
        const err = (await late.tryNext().catch((e: unknown) => e)) as MongoServerError;
        expect(err.code).toBe(286);
      });
    });

    test("a standalone (no --replSet) refuses $changeStream with mongod's error 40573", async () => {
      await withServer({}, async (_wire, coll, c) => {
        const hello = await c.db("admin").command({ hello: 1 });
        expect(hello.setName).toBeUndefined();
        const err = (await coll
          .watch()
          .tryNext()
          .catch((e: unknown) => e)) as MongoServerError;
        expect(err).toBeInstanceOf(MongoServerError);
        expect(err.code).toBe(40573);
        expect(err.message).toBe("The $changeStream stage is only supported on replica sets");
      });
    });
  });
}
