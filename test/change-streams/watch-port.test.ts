/**
 * `watch` on the document-store port, the same checks on both adapters: the embedded engine, and
 * MongoDB through the driver (the wire test server with --replSet, or MONGO_URL).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { MemoryDocumentStore } from "../../src/adapters/memory/memory-document-store";
import { MongoDocumentStore } from "../../src/adapters/mongo/mongo-document-store";
import {
  type ChangeEvent,
  type ChangeStreamHandle,
  type DocumentStore,
  ResumePositionLostError,
} from "../../src/core/ports/document-store";
import { type MongoWireServer, startMongoWire } from "../support/mongo-wire";

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

async function nextEvents(h: ChangeStreamHandle, n: number, ms = 5000): Promise<ChangeEvent[]> {
  const out: ChangeEvent[] = [];
  const deadline = Date.now() + ms;
  while (out.length < n) {
    if (Date.now() > deadline) throw new Error(`got ${out.length} of ${n} events`);
    const e = await h.next();
    if (e) out.push(e);
  }
  return out;
}

function contract(name: string, make: () => Promise<{ store: DocumentStore; trim?: () => void }>) {
  describe(`watch on ${name}`, () => {
    test("supportsChangeStreams is true", async () => {
      const { store } = await make();
      expect(await store.supportsChangeStreams()).toBe(true);
    });

    test("events of the watched collections only, with fields, documents and tokens", async () => {
      const { store } = await make();
      const users = store.collection("users");
      const h = store.watch(["users"], { maxAwaitMs: 100 });
      cleanups.push(() => h.close());
      await h.next(); // opens the stream here: what follows is after it
      const u = await users.insertOne({ name: "a", version: 1 });
      await store.collection("other").insertOne({ x: 1 });
      await users.updateOne({ _id: u._id }, { $set: { name: "b" }, $unset: { version: "" } });
      await users.deleteOne({ _id: u._id });
      const [ins, upd, del] = await nextEvents(h, 3);
      expect([ins?.op, upd?.op, del?.op]).toEqual(["insert", "update", "delete"]);
      expect(String(ins?.id)).toBe(u._id.toHexString());
      expect(ins?.fullDocument?.name).toBe("a");
      expect(upd?.updatedFields).toEqual(["name"]);
      expect(upd?.removedFields).toEqual(["version"]);
      expect(ins?.committedAt).toBeInstanceOf(Date);
      expect(h.resumeToken).not.toBeNull();
    });

    test("resumeAfter an event's token: the events after it", async () => {
      const { store } = await make();
      const coll = store.collection("users");
      const h = store.watch(["users"], { maxAwaitMs: 100 });
      cleanups.push(() => h.close());
      await h.next();
      for (let i = 0; i < 3; i++) await coll.insertOne({ i, _id: new ObjectId() });
      const [first] = await nextEvents(h, 3);
      const again = store.watch(["users"], { resumeAfter: first?.token, maxAwaitMs: 100 });
      cleanups.push(() => again.close());
      const rest = await nextEvents(again, 2);
      expect(rest.map((e) => e.fullDocument?.i)).toEqual([1, 2]);
    });

    test("a token from before trimmed history: ResumePositionLostError", async () => {
      const { store, trim } = await make();
      if (!trim) return;
      const h = store.watch(["users"], { maxAwaitMs: 100 });
      cleanups.push(() => h.close());
      await h.next();
      await store.collection("users").insertOne({ a: 1 });
      const [first] = await nextEvents(h, 1);
      await store.collection("users").insertOne({ a: 2 });
      trim();
      const late = store.watch(["users"], { resumeAfter: first?.token, maxAwaitMs: 100 });
      cleanups.push(() => late.close());
      expect(await late.next().catch((e: unknown) => e)).toBeInstanceOf(ResumePositionLostError);
    });
  });
}

contract("the embedded engine", async () => {
  const store = new MemoryDocumentStore();
  return { store, trim: () => store.engine.db("cachesync").changes.trim(0) };
});

let wire: MongoWireServer | undefined;
contract(
  process.env.MONGO_URL ? "MongoDB (MONGO_URL)" : "the driver on the test server",
  async () => {
    if (!process.env.MONGO_URL && !wire) {
      wire = await startMongoWire({ replSet: "rs0" });
      const w = wire;
      cleanups.push(() => w.close());
    }
    const dbName = `cs_watch_${Math.random().toString(36).slice(2, 8)}`;
    const store = await MongoDocumentStore.connect({
      url: process.env.MONGO_URL ?? (wire as MongoWireServer).url,
      dbName,
      timeoutMs: 2000,
    });
    cleanups.unshift(() => store.close());
    return { store, trim: wire ? () => wire?.engine.db(dbName).changes.trim(0) : undefined };
  },
);

test("a standalone does not support change streams", async () => {
  const standalone = await startMongoWire();
  const store = await MongoDocumentStore.connect({
    url: standalone.url,
    dbName: "x",
    timeoutMs: 1000,
  });
  try {
    expect(await store.supportsChangeStreams()).toBe(false);
  } finally {
    await store.close();
    await standalone.close();
  }
});
