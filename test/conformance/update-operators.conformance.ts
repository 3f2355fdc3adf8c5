import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import type { CollectionPort, Doc } from "../../src/core/ports/document-store";
import { type Backend, type BackendFactory, freshName } from "./backends";
import { E, expectServerError } from "./server-error";

type Any = Doc & Record<string, unknown>;

/**
 * Update operators through the document-store port, as MongoDB's reference documents them
 * (https://www.mongodb.com/docs/manual/reference/operator/update/): the document after the
 * update, matched/modified counts, and the error each refuses with.
 */
export function updateOperatorsConformance(factory: BackendFactory): void {
  let b: Backend;
  beforeAll(async () => {
    b = await factory.start();
  });
  afterAll(async () => {
    await b?.teardown();
  });

  /** A fresh collection holding `doc`; returns it and a reader of the stored document. */
  const withDoc = async (doc: Record<string, unknown>) => {
    const coll = b.store.collection<Any>(freshName("upd"));
    const _id = new ObjectId();
    await coll.insertOne({ _id, ...doc });
    const update = (u: Record<string, unknown>) => coll.updateOne({ _id }, u);
    const stored = async () => {
      const found = await coll.findOne({ _id });
      if (!found) return null;
      const { _id: _ignored, ...rest } = found;
      return rest;
    };
    return { coll, _id, update, stored };
  };

  describe("$set", () => {
    test("sets top-level and dotted fields, creating embedded documents", async () => {
      const d = await withDoc({ a: 1 });
      expect(await d.update({ $set: { a: 2, "b.c": 3 } })).toMatchObject({
        matchedCount: 1,
        modifiedCount: 1,
      });
      expect(await d.stored()).toEqual({ a: 2, b: { c: 3 } });
    });

    test("the same value: matched, not modified", async () => {
      const d = await withDoc({ a: 1, b: { c: [1, 2] } });
      expect(await d.update({ $set: { a: 1, b: { c: [1, 2] } } })).toMatchObject({
        matchedCount: 1,
        modifiedCount: 0,
      });
    });

    test("an array element by index", async () => {
      const d = await withDoc({ tags: ["a", "b"] });
      await d.update({ $set: { "tags.1": "z" } });
      expect(await d.stored()).toEqual({ tags: ["a", "z"] });
    });

    test("below a scalar → PathNotViable (28)", async () => {
      const d = await withDoc({ a: 5 });
      await expectServerError(d.update({ $set: { "a.b": 1 } }), E.PathNotViable);
      expect(await d.stored()).toEqual({ a: 5 });
    });

    test("changing _id → ImmutableField (66)", async () => {
      const d = await withDoc({ a: 1 });
      await expectServerError(d.update({ $set: { _id: new ObjectId() } }), E.ImmutableField);
    });
  });

  describe("$unset", () => {
    test("removes fields; a missing field is not a modification", async () => {
      const d = await withDoc({ a: 1, b: { c: 2, d: 3 } });
      await d.update({ $unset: { a: "", "b.c": 1 } });
      expect(await d.stored()).toEqual({ b: { d: 3 } });
      expect(await d.update({ $unset: { zz: "" } })).toMatchObject({ modifiedCount: 0 });
    });

    test("an array element becomes null (the array keeps its length)", async () => {
      const d = await withDoc({ tags: ["a", "b", "c"] });
      await d.update({ $unset: { "tags.1": "" } });
      expect(await d.stored()).toEqual({ tags: ["a", null, "c"] });
    });
  });

  describe("$inc", () => {
    test("adds to numbers, creates a missing field, accepts negatives", async () => {
      const d = await withDoc({ n: 5, w: { balance: 10 } });
      await d.update({ $inc: { n: 2, "w.balance": -3, created: 4 } });
      expect(await d.stored()).toEqual({ n: 7, w: { balance: 7 }, created: 4 });
    });

    test("onto null → TypeMismatch (14), document unchanged", async () => {
      const d = await withDoc({ n: null });
      await expectServerError(d.update({ $inc: { n: 1 } }), E.TypeMismatch);
      expect(await d.stored()).toEqual({ n: null });
    });

    test("onto a string → TypeMismatch (14)", async () => {
      const d = await withDoc({ n: "5" });
      await expectServerError(d.update({ $inc: { n: 1 } }), E.TypeMismatch);
    });

    test("with a non-numeric amount → TypeMismatch (14)", async () => {
      const d = await withDoc({ n: 1 });
      await expectServerError(d.update({ $inc: { n: "1" } }), E.TypeMismatch);
    });

    test("past the 32-bit range: the sum, not a wrap-around (stored as a long; the type is checked through the driver)", async () => {
      const d = await withDoc({ n: 2147483647 });
      await d.update({ $inc: { n: 1 } });
      expect(await d.stored()).toEqual({ n: 2147483648 });
    });
  });

  describe("$mul", () => {
    test("multiplies; a missing field is created as 0", async () => {
      const d = await withDoc({ price: 2.5 });
      await d.update({ $mul: { price: 4, qty: 3 } });
      expect(await d.stored()).toEqual({ price: 10, qty: 0 });
    });

    test("onto a string → TypeMismatch (14)", async () => {
      const d = await withDoc({ price: "2" });
      await expectServerError(d.update({ $mul: { price: 2 } }), E.TypeMismatch);
    });
  });

  describe("$min / $max", () => {
    test("replace only when lower / higher; create a missing field", async () => {
      const d = await withDoc({ lo: 5, hi: 5 });
      await d.update({ $min: { lo: 3, newLo: 1 }, $max: { hi: 9 } });
      expect(await d.stored()).toEqual({ lo: 3, hi: 9, newLo: 1 });
      expect(await d.update({ $min: { lo: 4 }, $max: { hi: 8 } })).toMatchObject({
        modifiedCount: 0,
      });
    });

    test("compare dates", async () => {
      const early = new Date("2026-01-01T00:00:00Z");
      const late = new Date("2026-06-01T00:00:00Z");
      const d = await withDoc({ first: late, last: early });
      await d.update({ $min: { first: early }, $max: { last: late } });
      expect(await d.stored()).toEqual({ first: early, last: late });
    });
  });

  describe("$rename", () => {
    test("moves a field, also into and out of embedded documents", async () => {
      const d = await withDoc({ a: 1, b: { c: 2 } });
      await d.update({ $rename: { a: "x.y", "b.c": "z" } });
      expect(await d.stored()).toEqual({ b: {}, x: { y: 1 }, z: 2 });
    });

    test("a missing source changes nothing", async () => {
      const d = await withDoc({ a: 1 });
      expect(await d.update({ $rename: { nope: "b" } })).toMatchObject({ modifiedCount: 0 });
      expect(await d.stored()).toEqual({ a: 1 });
    });

    test("source and target the same → BadValue (2)", async () => {
      const d = await withDoc({ a: 1 });
      await expectServerError(d.update({ $rename: { a: "a" } }), E.BadValue);
    });

    // "$rename does not work on embedded documents in arrays" (the $rename reference).
    test("from or into an array element → BadValue (2), document unchanged", async () => {
      const d = await withDoc({ a: [1, 2], b: 1, c: [{ x: 1 }] });
      await expectServerError(d.update({ $rename: { "a.0": "z" } }), E.BadValue);
      await expectServerError(d.update({ $rename: { b: "a.0" } }), E.BadValue);
      await expectServerError(d.update({ $rename: { "c.x": "y" } }), E.BadValue);
      expect(await d.stored()).toEqual({ a: [1, 2], b: 1, c: [{ x: 1 }] });
    });
  });

  describe("$currentDate", () => {
    test("true and { $type: 'date' } set the current date", async () => {
      const d = await withDoc({});
      const before = Date.now();
      await d.update({ $currentDate: { at: true, "meta.seen": { $type: "date" } } });
      const doc = (await d.stored()) as { at: Date; meta: { seen: Date } };
      expect(doc.at).toBeInstanceOf(Date);
      expect(doc.meta.seen).toBeInstanceOf(Date);
      expect(doc.at.getTime()).toBeGreaterThanOrEqual(before - 1000);
    });

    test("{ $type: 'timestamp' } sets a Timestamp of the current second", async () => {
      const d = await withDoc({});
      const before = Math.floor(Date.now() / 1000);
      await d.update({ $currentDate: { ts: { $type: "timestamp" } } });
      const { ts } = (await d.stored()) as { ts: { _bsontype?: string; high: number } };
      expect(ts._bsontype).toBe("Timestamp");
      expect(ts.high).toBeGreaterThanOrEqual(before - 1);
    });

    test("a $type other than date or timestamp → BadValue (2)", async () => {
      const d = await withDoc({});
      await expectServerError(d.update({ $currentDate: { t: { $type: "string" } } }), E.BadValue);
    });
  });

  describe("$push", () => {
    test("appends; creates the array on a missing field; $each appends several", async () => {
      const d = await withDoc({ tags: ["a"] });
      await d.update({ $push: { tags: "b", fresh: 1 } });
      await d.update({ $push: { tags: { $each: ["c", "d"] } } });
      expect(await d.stored()).toEqual({ tags: ["a", "b", "c", "d"], fresh: [1] });
    });

    test("$each + $slice (negative keeps the last, positive the first, 0 empties)", async () => {
      const d = await withDoc({ last: [1, 2], first: [1, 2], none: [1] });
      await d.update({
        $push: {
          last: { $each: [3, 4, 5], $slice: -3 },
          first: { $each: [3, 4, 5], $slice: 2 },
          none: { $each: [2], $slice: 0 },
        },
      });
      expect(await d.stored()).toEqual({ last: [3, 4, 5], first: [1, 2], none: [] });
    });

    test("$each + $slice on a missing field (a bounded log's first entry)", async () => {
      const d = await withDoc({});
      await d.update({ $push: { log: { $each: [1, 2, 3, 4], $slice: -2 } } });
      expect(await d.stored()).toEqual({ log: [3, 4] });
    });

    test("$each + $sort by value and by field, on a missing field too", async () => {
      const d = await withDoc({ nums: [3, 1] });
      await d.update({
        $push: {
          nums: { $each: [2], $sort: -1 },
          scores: {
            $each: [
              { s: 5, n: "b" },
              { s: 2, n: "a" },
              { s: 5, n: "a" },
            ],
            $sort: { s: -1, n: 1 },
          },
        },
      });
      expect(await d.stored()).toEqual({
        nums: [3, 2, 1],
        scores: [
          { s: 5, n: "a" },
          { s: 5, n: "b" },
          { s: 2, n: "a" },
        ],
      });
    });

    test("$each + $sort + $slice: a top-N list", async () => {
      const d = await withDoc({ top: [{ s: 9 }, { s: 4 }] });
      await d.update({
        $push: { top: { $each: [{ s: 7 }, { s: 1 }], $sort: { s: -1 }, $slice: 3 } },
      });
      expect(await d.stored()).toEqual({ top: [{ s: 9 }, { s: 7 }, { s: 4 }] });
    });

    test("$position inserts at an index; a negative one counts from the end", async () => {
      const d = await withDoc({ a: [1, 2, 3], b: [1, 2, 3] });
      await d.update({
        $push: { a: { $each: ["x", "y"], $position: 0 }, b: { $each: ["x"], $position: -1 } },
      });
      expect(await d.stored()).toEqual({ a: ["x", "y", 1, 2, 3], b: [1, 2, "x", 3] });
    });

    test("onto a non-array → BadValue (2), document unchanged", async () => {
      const d = await withDoc({ tags: "a" });
      await expectServerError(d.update({ $push: { tags: "b" } }), E.BadValue);
      expect(await d.stored()).toEqual({ tags: "a" });
    });

    test("$each that is not an array → BadValue (2)", async () => {
      const d = await withDoc({ tags: [] });
      await expectServerError(d.update({ $push: { tags: { $each: "b" } } }), E.BadValue);
    });
  });

  describe("$addToSet", () => {
    test("adds a value once; an existing one is not a modification", async () => {
      const d = await withDoc({ tags: ["a"] });
      expect(await d.update({ $addToSet: { tags: "b" } })).toMatchObject({ modifiedCount: 1 });
      expect(await d.update({ $addToSet: { tags: "a" } })).toMatchObject({ modifiedCount: 0 });
      expect(await d.stored()).toEqual({ tags: ["a", "b"] });
    });

    test("$each adds each missing value once, in order", async () => {
      const d = await withDoc({ tags: ["a"] });
      await d.update({ $addToSet: { tags: { $each: ["b", "a", "c", "b"] } } });
      expect(await d.stored()).toEqual({ tags: ["a", "b", "c"] });
    });

    test("$each on a missing field keeps one of each", async () => {
      const d = await withDoc({});
      await d.update({ $addToSet: { tags: { $each: ["x", "x", "y"] } } });
      expect(await d.stored()).toEqual({ tags: ["x", "y"] });
    });

    test("an array already holding duplicates keeps them, and a new value is added", async () => {
      const d = await withDoc({ tags: ["a", "a"] });
      expect(await d.update({ $addToSet: { tags: "b" } })).toMatchObject({ modifiedCount: 1 });
      expect(await d.stored()).toEqual({ tags: ["a", "a", "b"] });
    });

    test("documents compare whole, field order included", async () => {
      const d = await withDoc({ items: [{ a: 1, b: 2 }] });
      await d.update({
        $addToSet: {
          items: {
            $each: [
              { a: 1, b: 2 },
              { b: 2, a: 1 },
            ],
          },
        },
      });
      expect(await d.stored()).toEqual({
        items: [
          { a: 1, b: 2 },
          { b: 2, a: 1 },
        ],
      });
    });

    test("onto a non-array → BadValue (2)", async () => {
      const d = await withDoc({ tags: 3 });
      await expectServerError(d.update({ $addToSet: { tags: 4 } }), E.BadValue);
    });
  });

  describe("$pull / $pullAll", () => {
    test("$pull removes every equal value, or every value matching a condition", async () => {
      const d = await withDoc({ a: [1, 2, 1, 3], b: [1, 5, 8, 2], c: [{ x: 1 }, { x: 2, y: 1 }] });
      await d.update({ $pull: { a: 1, b: { $gte: 5 }, c: { x: 2 } } });
      expect(await d.stored()).toEqual({ a: [2, 3], b: [1, 2], c: [{ x: 1 }] });
    });

    test("$pull on a missing field changes nothing", async () => {
      const d = await withDoc({ a: [1] });
      expect(await d.update({ $pull: { b: 1 } })).toMatchObject({ modifiedCount: 0 });
    });

    test("$pullAll removes every listed value", async () => {
      const d = await withDoc({ a: [0, 2, 5, 5, 1, 0] });
      await d.update({ $pullAll: { a: [0, 5] } });
      expect(await d.stored()).toEqual({ a: [2, 1] });
    });

    test("$pull onto a non-array → BadValue (2)", async () => {
      const d = await withDoc({ a: "x" });
      await expectServerError(d.update({ $pull: { a: "x" } }), E.BadValue);
    });
  });

  describe("$pop", () => {
    test("1 removes the last element, -1 the first; an empty array stays", async () => {
      const d = await withDoc({ a: [1, 2, 3], b: [1, 2, 3], e: [] });
      await d.update({ $pop: { a: 1, b: -1, e: 1 } });
      expect(await d.stored()).toEqual({ a: [1, 2], b: [2, 3], e: [] });
    });

    test("onto a non-array → TypeMismatch (14)", async () => {
      const d = await withDoc({ a: 1 });
      await expectServerError(d.update({ $pop: { a: 1 } }), E.TypeMismatch);
    });
  });

  describe("operator documents", () => {
    test("$[] on a missing field → BadValue (2: the path must exist for array updates)", async () => {
      const d = await withDoc({ a: 1 });
      await expectServerError(d.update({ $set: { "m.$[]": 1 } }), E.BadValue);
      await expectServerError(d.update({ $set: { "a.$[]": 1 } }), E.BadValue);
      expect(await d.stored()).toEqual({ a: 1 });
    });

    test("two operators on the same path → ConflictingUpdateOperators (40)", async () => {
      const d = await withDoc({ a: 1 });
      await expectServerError(
        d.update({ $set: { a: 2 }, $inc: { a: 1 } }),
        E.ConflictingUpdateOperators,
      );
      await expectServerError(
        d.update({ $set: { "a.b": 2 }, $unset: { a: "" } }),
        E.ConflictingUpdateOperators,
      );
    });

    test("an unknown operator → FailedToParse (9)", async () => {
      const d = await withDoc({ a: 1 });
      await expectServerError(d.update({ $frobnicate: { a: 1 } }), E.FailedToParse);
    });

    test("several operators apply together", async () => {
      const d = await withDoc({ n: 1, tags: ["a"], gone: true });
      await d.update({
        $inc: { n: 1 },
        $push: { tags: "b" },
        $unset: { gone: "" },
        $set: { s: "x" },
      });
      expect(await d.stored()).toEqual({ n: 2, tags: ["a", "b"], s: "x" });
    });
  });

  describe("upserts", () => {
    // "the update creates a base document from the equality clauses in the <query> parameter".
    test("a regular expression in the filter is a match, not an equality: not copied", async () => {
      const coll = b.store.collection<Any>(freshName("ups"));
      const res = await coll.updateOne(
        { name: /^ad/, tier: "gold" },
        { $set: { n: 1 } },
        { upsert: true },
      );
      const { _id: _ignored, ...doc } = (await coll.findOne({ _id: res.upsertedId })) as Any;
      expect(doc).toEqual({ tier: "gold", n: 1 });
    });

    test("insert from the filter's equalities, then $set and $setOnInsert", async () => {
      const coll = b.store.collection<Any>(freshName("ups"));
      const res = await coll.updateOne(
        { email: "a@x.io", "profile.lang": "en", age: { $gt: 18 } },
        { $set: { n: 1 }, $setOnInsert: { created: true } },
        { upsert: true },
      );
      expect(res.matchedCount).toBe(0);
      expect(res.upsertedId).toBeInstanceOf(ObjectId);
      const doc = await coll.findOne({ _id: res.upsertedId });
      expect(doc).toEqual({
        _id: res.upsertedId,
        email: "a@x.io",
        profile: { lang: "en" },
        n: 1,
        created: true,
      } as Any);
    });

    test("$setOnInsert is ignored when the filter matches", async () => {
      const coll = b.store.collection<Any>(freshName("ups"));
      const { _id } = await coll.insertOne({ k: 1 });
      await coll.updateOne(
        { k: 1 },
        { $set: { n: 2 }, $setOnInsert: { created: true } },
        { upsert: true },
      );
      expect(await coll.findOne({ _id })).toEqual({ _id, k: 1, n: 2 } as Any);
    });

    test("the filter's _id is the new document's _id", async () => {
      const coll = b.store.collection<Any>(freshName("ups"));
      const _id = new ObjectId();
      const res = await coll.updateOne({ _id }, { $inc: { n: 1 } }, { upsert: true });
      expect(res.upsertedId?.equals(_id)).toBe(true);
      expect(await coll.findOne({ _id })).toEqual({ _id, n: 1 } as Any);
    });

    test("$push $each $slice and $addToSet $each on the inserted document", async () => {
      const coll = b.store.collection<Any>(freshName("ups"));
      const res = await coll.updateOne(
        { k: "log" },
        {
          $push: { log: { $each: [1, 2, 3], $slice: -2 } },
          $addToSet: { seen: { $each: ["a", "a", "b"] } },
        },
        { upsert: true },
      );
      expect(await coll.findOne({ _id: res.upsertedId })).toEqual({
        _id: res.upsertedId,
        k: "log",
        log: [2, 3],
        seen: ["a", "b"],
      } as Any);
    });

    test("findOneAndUpdate upsert returns the inserted document (after) or null (before)", async () => {
      const coll = b.store.collection<Any>(freshName("ups"));
      const after = await coll.findOneAndUpdate({ k: 1 }, { $set: { n: 1 } }, { upsert: true });
      expect(after).toMatchObject({ k: 1, n: 1 });
      const before = await coll.findOneAndUpdate(
        { k: 2 },
        { $set: { n: 1 } },
        { upsert: true, returnDocument: "before" },
      );
      expect(before).toBeNull();
      expect(await coll.countDocuments({ k: 2 })).toBe(1);
    });
  });

  describe("findOneAndUpdate", () => {
    const seed = async () => {
      const coll: CollectionPort<Any> = b.store.collection<Any>(freshName("fau"));
      for (const n of [3, 1, 2]) await coll.insertOne({ n, tag: "t", extra: n * 10 });
      return coll;
    };

    test("returns the document after the update by default, before on request", async () => {
      const coll = await seed();
      expect(await coll.findOneAndUpdate({ n: 1 }, { $inc: { n: 10 } })).toMatchObject({ n: 11 });
      expect(
        await coll.findOneAndUpdate({ n: 2 }, { $inc: { n: 10 } }, { returnDocument: "before" }),
      ).toMatchObject({ n: 2 });
      expect(await coll.countDocuments({ n: { $gt: 10 } })).toBe(2);
    });

    test("sort chooses which document; projection shapes the answer", async () => {
      const coll = await seed();
      const top = await coll.findOneAndUpdate(
        { tag: "t" },
        { $set: { top: true } },
        { sort: { n: -1 }, projection: { n: 1, _id: 0 } },
      );
      expect(top as unknown).toEqual({ n: 3 });
      const low = await coll.findOneAndUpdate(
        { tag: "t" },
        { $set: { low: true } },
        { sort: { n: 1 }, projection: { extra: 0, tag: 0 } },
      );
      expect(Object.keys(low ?? {}).sort()).toEqual(["_id", "low", "n"]);
    });

    test("no match: null, nothing written", async () => {
      const coll = await seed();
      expect(await coll.findOneAndUpdate({ n: 99 }, { $set: { x: 1 } })).toBeNull();
      expect(await coll.countDocuments({ x: 1 })).toBe(0);
    });

    test("an operator error leaves the document as it was", async () => {
      const coll = await seed();
      await expectServerError(
        coll.findOneAndUpdate({ n: 1 }, { $inc: { tag: 1 }, $set: { n: 5 } }),
        E.TypeMismatch,
      );
      expect(await coll.countDocuments({ n: 1 })).toBe(1);
    });
  });
}
