import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { DuplicateKeyError, StoreUnavailableError } from "../../src/core/errors";
import type { CollectionPort, Doc, DocumentStore } from "../../src/core/ports/document-store";

type User = Doc & {
  email: string;
  username?: string;
  n?: number;
  tags?: string[];
  wallet?: { balance: number };
};

export interface ContractHarness {
  store: DocumentStore;
  /** Makes the store unreachable (stop the server); absent when the backend cannot be stopped. */
  makeUnavailable?: () => Promise<void>;
  /** Undoes makeUnavailable. */
  restore?: () => Promise<void>;
  /** The store's configured timeout, for "fails fast" assertions. */
  timeoutMs?: number;
  teardown: () => Promise<void>;
}

/**
 * The behaviour every DocumentStore adapter must share. Each test uses its own collection name,
 * so suites never depend on one another's data.
 */
export function documentStoreContract(name: string, factory: () => Promise<ContractHarness>): void {
  describe(`DocumentStore contract: ${name}`, () => {
    let h: ContractHarness;
    let users: CollectionPort<User>;
    let seq = 0;
    let coll = "";

    beforeAll(async () => {
      h = await factory();
    });
    afterAll(async () => {
      await h?.teardown();
    });
    beforeEach(async () => {
      coll = `users_${Date.now().toString(36)}_${seq++}`;
      users = h.store.collection<User>(coll);
      await h.store.ensureIndexes([
        { collection: coll, key: { email: 1 }, unique: true },
        { collection: coll, key: { username: 1 }, unique: true, sparse: true },
      ]);
    });

    const seed = async (count: number) => {
      const out: User[] = [];
      for (let i = 0; i < count; i++)
        out.push(await users.insertOne({ email: `u${i}@x.io`, n: i }));
      return out;
    };

    test("kind and ping", async () => {
      expect(typeof h.store.kind).toBe("string");
      await h.store.ping();
    });

    test("insertOne generates an ObjectId and returns the stored document", async () => {
      const doc = await users.insertOne({ email: "a@x.io", n: 1 });
      expect(doc._id).toBeInstanceOf(ObjectId);
      expect(await users.findOne({ _id: doc._id })).toEqual(doc);
      const id = new ObjectId();
      const given = await users.insertOne({ _id: id, email: "b@x.io" });
      expect(given._id.equals(id)).toBe(true);
    });

    test("insertOne does not mutate the caller's object", async () => {
      const input = { email: "c@x.io" };
      await users.insertOne(input);
      expect(input).toEqual({ email: "c@x.io" });
    });

    test("returned documents are copies: mutating them changes nothing stored", async () => {
      const doc = await users.insertOne({ email: "a@x.io", wallet: { balance: 5 } });
      doc.wallet!.balance = 1000;
      const read = await users.findOne({ _id: doc._id });
      read!.wallet!.balance = 2000;
      expect((await users.findOne({ _id: doc._id }))!.wallet).toEqual({ balance: 5 });
    });

    test("unique index: insert of a duplicate → DuplicateKeyError with keyPattern/keyValue", async () => {
      await users.insertOne({ email: "dup@x.io" });
      const err = await users.insertOne({ email: "dup@x.io" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DuplicateKeyError);
      expect((err as DuplicateKeyError).keyPattern).toEqual({ email: 1 });
      expect((err as DuplicateKeyError).keyValue).toEqual({ email: "dup@x.io" });
      expect(await users.countDocuments({ email: "dup@x.io" })).toBe(1);
    });

    test("sparse unique index ignores documents lacking the field", async () => {
      await users.insertOne({ email: "s1@x.io" });
      await users.insertOne({ email: "s2@x.io" });
      await users.insertOne({ email: "s3@x.io", username: "neo" });
      await expect(users.insertOne({ email: "s4@x.io", username: "neo" })).rejects.toBeInstanceOf(
        DuplicateKeyError,
      );
    });

    test("ensureIndexes is idempotent", async () => {
      await h.store.ensureIndexes([{ collection: coll, key: { email: 1 }, unique: true }]);
      await users.insertOne({ email: "i@x.io" });
      await expect(users.insertOne({ email: "i@x.io" })).rejects.toBeInstanceOf(DuplicateKeyError);
    });

    test("compound unique index", async () => {
      const c = h.store.collection(`${coll}_ledger`);
      await h.store.ensureIndexes([
        { collection: `${coll}_ledger`, key: { userId: 1, opId: 1 }, unique: true },
      ]);
      await c.insertOne({ userId: 1, opId: "a" });
      await c.insertOne({ userId: 2, opId: "a" });
      await expect(c.insertOne({ userId: 1, opId: "a" })).rejects.toBeInstanceOf(DuplicateKeyError);
    });

    test("updateOne / findOneAndUpdate refused by a unique index → DuplicateKeyError, document unchanged", async () => {
      await users.insertOne({ email: "one@x.io" });
      const two = await users.insertOne({ email: "two@x.io", n: 2 });
      await expect(
        users.updateOne({ _id: two._id }, { $set: { email: "one@x.io", n: 3 } }),
      ).rejects.toBeInstanceOf(DuplicateKeyError);
      await expect(
        users.findOneAndUpdate({ _id: two._id }, { $set: { email: "one@x.io" }, $inc: { n: 1 } }),
      ).rejects.toBeInstanceOf(DuplicateKeyError);
      expect(await users.findOne({ _id: two._id })).toEqual(two);
    });

    test("find honours filter, sort, skip, limit and projection", async () => {
      await seed(6);
      const page = await users.find({ n: { $gte: 1 } }, { sort: { n: -1 }, skip: 1, limit: 3 });
      expect(page.map((u) => u.n)).toEqual([4, 3, 2]);
      const projected = await users.find({ n: 1 }, { projection: { email: 1 } });
      expect(Object.keys(projected[0]!).sort()).toEqual(["_id", "email"]);
      const excluded = await users.find({ n: 1 }, { projection: { email: 0 } });
      expect(excluded[0]!.email).toBeUndefined();
      expect(excluded[0]!.n).toBe(1);
      expect(await users.find({ n: 99 })).toEqual([]);
    });

    test("findOne: first by sort, null when nothing matches", async () => {
      await seed(3);
      expect((await users.findOne({}, { sort: { n: -1 } }))!.n).toBe(2);
      expect(await users.findOne({ email: "nobody" })).toBeNull();
      expect(await users.findOne({ _id: new ObjectId() })).toBeNull();
    });

    test("queries on nested fields, $in, $exists and ObjectId equality", async () => {
      const [a, b] = await seed(2);
      await users.updateOne({ _id: a!._id }, { $set: { wallet: { balance: 10 } } });
      expect((await users.find({ "wallet.balance": { $gt: 5 } })).length).toBe(1);
      expect(
        (await users.find({ _id: { $in: [b!._id, new ObjectId()] } })).map((u) => u.email),
      ).toEqual([b!.email]);
      expect(await users.countDocuments({ wallet: { $exists: false } })).toBe(1);
      expect((await users.findOne({ _id: new ObjectId(a!._id.toHexString()) }))!.email).toBe(
        a!.email,
      );
    });

    test("updateOne: operators, matched/modified counts", async () => {
      const doc = await users.insertOne({ email: "u@x.io", n: 1, tags: ["a"] });
      const res = await users.updateOne(
        { _id: doc._id },
        {
          $inc: { n: 2 },
          $push: { tags: { $each: ["b", "c", "d"], $slice: -3 } },
          $set: { "wallet.balance": 7 },
        },
      );
      expect(res).toEqual({ matchedCount: 1, modifiedCount: 1, upsertedId: null });
      expect(await users.findOne({ _id: doc._id })).toEqual({
        _id: doc._id,
        email: "u@x.io",
        n: 3,
        tags: ["b", "c", "d"],
        wallet: { balance: 7 },
      });
      await users.updateOne({ _id: doc._id }, { $pull: { tags: "c" }, $unset: { wallet: "" } });
      await users.updateOne({ _id: doc._id }, { $addToSet: { tags: "b" } });
      const after = await users.findOne({ _id: doc._id });
      expect(after!.tags).toEqual(["b", "d"]);
      expect(after!.wallet).toBeUndefined();
      const noop = await users.updateOne({ _id: doc._id }, { $set: { n: 3 } });
      expect(noop).toEqual({ matchedCount: 1, modifiedCount: 0, upsertedId: null });
      const none = await users.updateOne({ email: "none" }, { $set: { n: 3 } });
      expect(none).toEqual({ matchedCount: 0, modifiedCount: 0, upsertedId: null });
    });

    test("updateOne and more operators: $min $max $currentDate $rename $setOnInsert", async () => {
      const doc = await users.insertOne({ email: "m@x.io", n: 5 });
      await users.updateOne(
        { _id: doc._id },
        {
          $min: { n: 3 },
          $max: { hi: 9 },
          $currentDate: { seenAt: true },
          $rename: { email: "mail" },
          $setOnInsert: { x: 1 },
        },
      );
      const after = (await users.findOne({ _id: doc._id })) as Record<string, unknown>;
      expect(after.n).toBe(3);
      expect(after.hi).toBe(9);
      expect(after.seenAt).toBeInstanceOf(Date);
      expect(after.mail).toBe("m@x.io");
      expect(after.email).toBeUndefined();
      expect(after.x).toBeUndefined();
    });

    test("updateOne upsert inserts from the filter's equalities plus $setOnInsert", async () => {
      const res = await users.updateOne(
        { email: "new@x.io" },
        { $set: { n: 1 }, $setOnInsert: { created: true } },
        { upsert: true },
      );
      expect(res.matchedCount).toBe(0);
      expect(res.upsertedId).toBeInstanceOf(ObjectId);
      const doc = await users.findOne({ _id: res.upsertedId! });
      expect(doc).toEqual({ _id: res.upsertedId!, email: "new@x.io", n: 1, created: true } as User);
      const again = await users.updateOne(
        { email: "new@x.io" },
        { $set: { n: 2 }, $setOnInsert: { created: false } },
        { upsert: true },
      );
      expect(again).toEqual({ matchedCount: 1, modifiedCount: 1, upsertedId: null });
      expect(
        ((await users.findOne({ email: "new@x.io" })) as Record<string, unknown>).created,
      ).toBe(true);
    });

    test("updateMany", async () => {
      await seed(5);
      const res = await users.updateMany({ n: { $lt: 3 } }, { $set: { low: true } });
      expect(res).toEqual({ matchedCount: 3, modifiedCount: 3, upsertedId: null });
      expect(await users.countDocuments({ low: true })).toBe(3);
    });

    test("findOneAndUpdate returns the document after by default, before on request", async () => {
      const doc = await users.insertOne({ email: "f@x.io", wallet: { balance: 10 } });
      const after = await users.findOneAndUpdate(
        { _id: doc._id },
        { $inc: { "wallet.balance": -3 } },
      );
      expect(after!.wallet!.balance).toBe(7);
      const before = await users.findOneAndUpdate(
        { _id: doc._id },
        { $inc: { "wallet.balance": 5 } },
        { returnDocument: "before" },
      );
      expect(before!.wallet!.balance).toBe(7);
      expect((await users.findOne({ _id: doc._id }))!.wallet!.balance).toBe(12);
    });

    test("findOneAndUpdate: a guard in the filter makes conditional updates atomic", async () => {
      const doc = await users.insertOne({ email: "g@x.io", wallet: { balance: 10 } });
      const debit = (amount: number) =>
        users.findOneAndUpdate(
          { _id: doc._id, "wallet.balance": { $gte: amount } },
          { $inc: { "wallet.balance": -amount } },
        );
      const results = await Promise.all(Array.from({ length: 5 }, () => debit(4)));
      expect(results.filter(Boolean).length).toBe(2);
      expect((await users.findOne({ _id: doc._id }))!.wallet!.balance).toBe(2);
    });

    test("findOneAndUpdate: no match → null; upsert → the new document; sort and projection", async () => {
      expect(await users.findOneAndUpdate({ email: "none" }, { $set: { n: 1 } })).toBeNull();
      const created = await users.findOneAndUpdate(
        { email: "up@x.io" },
        { $set: { n: 1 } },
        { upsert: true },
      );
      expect(created).toMatchObject({ email: "up@x.io", n: 1 });
      expect(created!._id).toBeInstanceOf(ObjectId);
      expect(
        await users.findOneAndUpdate(
          { email: "up2@x.io" },
          { $set: { n: 1 } },
          { upsert: true, returnDocument: "before" },
        ),
      ).toBeNull();
      await seed(3);
      const top = await users.findOneAndUpdate(
        { email: /^u\d@/ },
        { $set: { top: true } },
        { sort: { n: -1 }, projection: { email: 1 } },
      );
      expect(top).toEqual({ _id: top!._id, email: "u2@x.io" } as User);
    });

    test("deleteOne / deleteMany", async () => {
      await seed(4);
      expect(await users.deleteOne({ n: { $gte: 1 } })).toEqual({ deletedCount: 1 });
      expect(await users.deleteOne({ n: 99 })).toEqual({ deletedCount: 0 });
      expect(await users.deleteMany({ n: { $gte: 1 } })).toEqual({ deletedCount: 2 });
      expect(await users.countDocuments()).toBe(1);
      // A deleted document's unique key is free again.
      await users.insertOne({ email: "u3@x.io" });
    });

    test("countDocuments with and without a filter", async () => {
      expect(await users.countDocuments()).toBe(0);
      await seed(5);
      expect(await users.countDocuments()).toBe(5);
      expect(await users.countDocuments({ n: { $in: [1, 2, 42] } })).toBe(2);
    });

    test("sample: distinct random matching documents, at most size", async () => {
      await seed(10);
      const s = await users.sample(4, { n: { $lt: 8 } });
      expect(s.length).toBe(4);
      expect(new Set(s.map((u) => u._id.toHexString())).size).toBe(4);
      for (const u of s) expect(u.n!).toBeLessThan(8);
      expect((await users.sample(50)).length).toBe(10);
      expect(await users.sample(3, { n: 99 })).toEqual([]);
    });

    test("an unreachable store rejects with StoreUnavailableError quickly, and recovers", async () => {
      if (!h.makeUnavailable || !h.restore) return;
      const doc = await users.insertOne({ email: "down@x.io" });
      await h.makeUnavailable();
      try {
        const started = performance.now();
        const err = await users.findOne({ _id: doc._id }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StoreUnavailableError);
        await expect(users.updateOne({ _id: doc._id }, { $set: { n: 1 } })).rejects.toBeInstanceOf(
          StoreUnavailableError,
        );
        await expect(h.store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
        expect(performance.now() - started).toBeLessThan(3 * (h.timeoutMs ?? 1000) + 500);
      } finally {
        await h.restore();
      }
      const deadline = Date.now() + 5000;
      let back: User | null = null;
      while (!back && Date.now() < deadline)
        back = await users.findOne({ _id: doc._id }).catch(() => null);
      expect(back?.email).toBe("down@x.io");
    });
  });
}
