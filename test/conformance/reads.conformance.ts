import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { DuplicateKeyError } from "../../src/core/errors";
import type { CollectionPort, Doc } from "../../src/core/ports/document-store";
import { type Backend, type BackendFactory, freshName } from "./backends";
import { E, expectServerError } from "./server-error";

type Any = Doc & Record<string, unknown>;

/**
 * Reads and unique indexes through the document-store port, as MongoDB documents them: query
 * operators, sort order across types, skip/limit, projections, `$sample`, `countDocuments`, and
 * the duplicate-key error of every write path.
 */
export function readsConformance(factory: BackendFactory): void {
  let b: Backend;
  beforeAll(async () => {
    b = await factory.start();
  });
  afterAll(async () => {
    await b?.teardown();
  });

  const seeded = async (docs: Record<string, unknown>[]) => {
    const coll: CollectionPort<Any> = b.store.collection<Any>(freshName("rd"));
    for (const doc of docs) await coll.insertOne(doc);
    return coll;
  };
  const values = (docs: Any[], field: string) => docs.map((d) => d[field]);

  describe("queries", () => {
    // "The { item : null } query matches documents that either contain the item field whose
    // value is null or that do not contain the item field"; through an array of documents, an
    // element without the field (or with null) is such a document.
    test("null through an array of documents: an element missing the field matches", async () => {
      const coll = await seeded([
        { k: "some b missing", a: [{ b: 3 }, {}] },
        { k: "all b set", a: [{ b: 1 }, { b: 3 }] },
        { k: "some b null", a: [{ b: null }, { b: 3 }] },
        { k: "a scalar", a: 4 },
        { k: "no a" },
        { k: "deep missing", a: [{ b: [{ c: 1 }, {}] }] },
      ]);
      const ks = async (filter: Record<string, unknown>) =>
        (values(await coll.find(filter), "k") as string[]).sort();
      const matching = ["a scalar", "no a", "some b missing", "some b null"];
      expect(await ks({ "a.b": null })).toEqual(matching);
      expect(await ks({ "a.b": { $eq: null } })).toEqual(matching);
      expect(await ks({ "a.b": { $in: [null, 1] } })).toEqual(["all b set", ...matching].sort());
      expect(await ks({ "a.b": { $ne: null } })).toEqual(["all b set", "deep missing"]);
      expect(await ks({ "a.b": { $nin: [null] } })).toEqual(["all b set", "deep missing"]);
      expect(await ks({ "a.b.c": null, k: "deep missing" })).toEqual(["deep missing"]);
      expect(await coll.countDocuments({ "a.b": null })).toBe(4);
    });

    test("comparison, $in/$nin, $exists, $ne and nested fields", async () => {
      const coll = await seeded([
        { k: 1, n: 5, w: { b: 10 } },
        { k: 2, n: 7 },
        { k: 3, n: null },
        { k: 4 },
      ]);
      const ks = async (filter: Record<string, unknown>) =>
        values(await coll.find(filter, { sort: { k: 1 } }), "k");
      expect(await ks({ n: { $gt: 5 } })).toEqual([2]);
      expect(await ks({ n: { $gte: 5, $lt: 7 } })).toEqual([1]);
      expect(await ks({ n: { $in: [5, 7] } })).toEqual([1, 2]);
      expect(await ks({ n: { $nin: [5, 7] } })).toEqual([3, 4]);
      // null matches both a null value and a missing field.
      expect(await ks({ n: null })).toEqual([3, 4]);
      expect(await ks({ n: { $exists: false } })).toEqual([4]);
      expect(await ks({ n: { $ne: 5 } })).toEqual([2, 3, 4]);
      expect(await ks({ "w.b": 10 })).toEqual([1]);
    });

    test("arrays: equality to an element, $all, $elemMatch, $size", async () => {
      const coll = await seeded([
        { k: 1, tags: ["a", "b"], s: [{ x: 1, y: 2 }] },
        { k: 2, tags: ["b", "c"], s: [{ x: 1 }, { y: 2 }] },
      ]);
      const ks = async (filter: Record<string, unknown>) =>
        values(await coll.find(filter, { sort: { k: 1 } }), "k");
      expect(await ks({ tags: "b" })).toEqual([1, 2]);
      expect(await ks({ tags: { $all: ["a", "b"] } })).toEqual([1]);
      expect(await ks({ s: { $elemMatch: { x: 1, y: 2 } } })).toEqual([1]);
      expect(await ks({ "s.x": 1, "s.y": 2 })).toEqual([1, 2]);
      expect(await ks({ tags: { $size: 2 } })).toEqual([1, 2]);
    });

    test("$or, $and, $not and regular expressions", async () => {
      const coll = await seeded([
        { k: 1, email: "ann@x.io" },
        { k: 2, email: "Bob@y.io" },
        { k: 3, email: "cy@x.io" },
      ]);
      const ks = async (filter: Record<string, unknown>) =>
        values(await coll.find(filter, { sort: { k: 1 } }), "k");
      expect(await ks({ $or: [{ k: 1 }, { email: /^cy/ }] })).toEqual([1, 3]);
      expect(await ks({ $and: [{ email: /@x\.io$/ }, { k: { $gt: 1 } }] })).toEqual([3]);
      expect(await ks({ email: { $regex: "^bob", $options: "i" } })).toEqual([2]);
      expect(await ks({ k: { $not: { $gt: 1 } } })).toEqual([1]);
    });
  });

  describe("malformed queries are refused, not evaluated", () => {
    test("$and/$or/$nor empty, unknown $type, $mod and $size malformed → BadValue (2)", async () => {
      const coll = await seeded([{ n: 1, tags: ["a"] }]);
      await expectServerError(coll.find({ $and: [] }), E.BadValue);
      await expectServerError(coll.find({ $or: [] }), E.BadValue);
      await expectServerError(coll.find({ n: { $type: "bogus" } }), E.BadValue);
      await expectServerError(coll.find({ n: { $mod: [2] } }), E.BadValue);
      await expectServerError(coll.find({ tags: { $size: "1" } }), E.BadValue);
      await expectServerError(coll.countDocuments({ n: { $in: 1 } }), E.BadValue);
    });

    test("a projection mixing inclusion and exclusion → 31254/31253", async () => {
      const coll = await seeded([{ n: 1, m: 2 }]);
      await expectServerError(coll.find({}, { projection: { n: 1, m: 0 } }), {
        code: 31254,
        codeName: "Location31254",
      });
      await expectServerError(coll.find({}, { projection: { n: 0, m: 1 } }), {
        code: 31253,
        codeName: "Location31253",
      });
    });
  });

  describe("sort, skip, limit", () => {
    test("multi-key sort, then skip and limit", async () => {
      const coll = await seeded([
        { g: 1, n: 2 },
        { g: 2, n: 1 },
        { g: 1, n: 1 },
        { g: 2, n: 2 },
      ]);
      const page = await coll.find({}, { sort: { g: -1, n: 1 }, skip: 1, limit: 2 });
      expect(page.map((d) => [d.g, d.n])).toEqual([
        [2, 2],
        [1, 1],
      ]);
    });

    test("across types: missing and null first, then numbers, strings, objects (BSON order)", async () => {
      const coll = await seeded([
        { k: "str", v: "a" },
        { k: "num", v: 3 },
        { k: "missing" },
        { k: "obj", v: { a: 1 } },
        { k: "dbl", v: 2.5 },
        { k: "null", v: null },
      ]);
      const order = values(await coll.find({}, { sort: { v: 1, k: 1 } }), "k");
      expect(order).toEqual(["missing", "null", "dbl", "num", "str", "obj"]);
    });

    test("skip beyond the end: nothing; limit 0: no limit", async () => {
      const coll = await seeded([{ n: 1 }, { n: 2 }]);
      expect(await coll.find({}, { skip: 5 })).toEqual([]);
      expect((await coll.find({}, { limit: 0 })).length).toBe(2);
    });

    // "With arrays, a less-than comparison or an ascending sort compares the smallest elements of
    // the arrays, and a greater-than comparison or a descending sort compares the largest."
    test("on an array field: ascending by the smallest element, descending by the largest", async () => {
      const coll = await seeded([
        { k: "1-5", v: [1, 5] },
        { k: "3", v: 3 },
        { k: "0-4", v: [0, 4] },
        { k: "in docs", v: [{ x: 1 }] },
      ]);
      const order = async (dir: 1 | -1) =>
        values(await coll.find({ k: { $ne: "in docs" } }, { sort: { v: dir } }), "k");
      expect(await order(1)).toEqual(["0-4", "1-5", "3"]);
      expect(await order(-1)).toEqual(["1-5", "0-4", "3"]);
      const nested = await seeded([
        { k: "a", s: [{ x: 2 }, { x: 9 }] },
        { k: "b", s: [{ x: 5 }] },
      ]);
      expect(values(await nested.find({}, { sort: { "s.x": -1 } }), "k")).toEqual(["a", "b"]);
      expect(values(await nested.find({}, { sort: { "s.x": 1 }, limit: 1 }), "k")).toEqual(["a"]);
    });
  });

  describe("projection", () => {
    test("inclusion keeps _id unless excluded; nested paths", async () => {
      const coll = await seeded([{ a: 1, b: 2, w: { x: 1, y: 2 } }]);
      const [incl] = await coll.find({}, { projection: { a: 1, "w.x": 1 } });
      expect(Object.keys(incl ?? {}).sort()).toEqual(["_id", "a", "w"]);
      expect(incl?.w).toEqual({ x: 1 });
      const [noId] = await coll.find({}, { projection: { a: 1, _id: 0 } });
      expect(noId as unknown).toEqual({ a: 1 });
    });

    test("exclusion removes only the named fields", async () => {
      const coll = await seeded([{ a: 1, b: 2, w: { x: 1, y: 2 } }]);
      const [excl] = await coll.find({}, { projection: { b: 0, "w.y": 0 } });
      expect(Object.keys(excl ?? {}).sort()).toEqual(["_id", "a", "w"]);
      expect(excl?.w).toEqual({ x: 1 });
    });

    test("findOne takes the first document of the sort, with projection", async () => {
      const coll = await seeded([{ n: 1 }, { n: 3 }, { n: 2 }]);
      expect(
        (await coll.findOne({}, { sort: { n: -1 }, projection: { n: 1, _id: 0 } })) as unknown,
      ).toEqual({
        n: 3,
      });
      expect(await coll.findOne({ n: 42 })).toBeNull();
    });
  });

  describe("countDocuments and $sample", () => {
    test("countDocuments counts matches; an empty or missing collection counts 0", async () => {
      const coll = await seeded([{ n: 1 }, { n: 2 }, { n: 3 }]);
      expect(await coll.countDocuments()).toBe(3);
      expect(await coll.countDocuments({ n: { $gte: 2 } })).toBe(2);
      expect(await b.store.collection(freshName("none")).countDocuments()).toBe(0);
    });

    test("$sample: at most size, distinct, all matching the filter", async () => {
      const coll = await seeded(Array.from({ length: 12 }, (_, n) => ({ n })));
      const some = await coll.sample(5, { n: { $lt: 10 } });
      expect(some.length).toBe(5);
      expect(new Set(some.map((d) => String(d._id))).size).toBe(5);
      for (const d of some) expect(d.n as number).toBeLessThan(10);
      expect((await coll.sample(100)).length).toBe(12);
      expect(await coll.sample(2, { n: 99 })).toEqual([]);
    });
  });

  describe("unique indexes", () => {
    const indexed = async () => {
      const name = freshName("uq");
      await b.store.ensureIndexes([
        { collection: name, key: { email: 1 }, unique: true },
        { collection: name, key: { nick: 1 }, unique: true, sparse: true },
        { collection: name, key: { org: 1, code: 1 }, unique: true },
      ]);
      return b.store.collection<Any>(name);
    };
    const dup = async (
      p: Promise<unknown>,
      keyPattern: Record<string, unknown>,
      keyValue: Record<string, unknown>,
    ) => {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DuplicateKeyError);
      expect((err as DuplicateKeyError).keyPattern).toEqual(keyPattern);
      expect((err as DuplicateKeyError).keyValue).toEqual(keyValue);
    };

    test("insert, update, upsert and findOneAndUpdate into a taken key: E11000, nothing written", async () => {
      const coll = await indexed();
      await coll.insertOne({ email: "a@x.io", org: 1, code: "a" });
      const b2 = await coll.insertOne({ email: "b@x.io", org: 1, code: "b" });
      await dup(
        coll.insertOne({ email: "a@x.io", org: 2, code: "z" }),
        { email: 1 },
        { email: "a@x.io" },
      );
      await dup(
        coll.updateOne({ _id: b2._id }, { $set: { email: "a@x.io" } }),
        { email: 1 },
        { email: "a@x.io" },
      );
      await dup(
        coll.updateOne({ email: "c@x.io" }, { $set: { org: 1, code: "a" } }, { upsert: true }),
        { org: 1, code: 1 },
        { org: 1, code: "a" },
      );
      await dup(
        coll.findOneAndUpdate({ _id: b2._id }, { $set: { code: "a" } }),
        { org: 1, code: 1 },
        { org: 1, code: "a" },
      );
      expect(await coll.countDocuments()).toBe(2);
      expect(await coll.findOne({ _id: b2._id })).toMatchObject({ email: "b@x.io", code: "b" });
    });

    test("a sparse unique index ignores documents without the field; _id is unique", async () => {
      const coll = await indexed();
      await coll.insertOne({ email: "1@x.io", org: 1, code: "1" });
      await coll.insertOne({ email: "2@x.io", org: 1, code: "2" });
      await coll.insertOne({ email: "3@x.io", org: 1, code: "3", nick: "neo" });
      await dup(
        coll.insertOne({ email: "4@x.io", org: 1, code: "4", nick: "neo" }),
        { nick: 1 },
        { nick: "neo" },
      );
      const _id = new ObjectId();
      await coll.insertOne({ _id, email: "5@x.io", org: 1, code: "5" });
      await dup(coll.insertOne({ _id, email: "6@x.io", org: 1, code: "6" }), { _id: 1 }, { _id });
    });

    test("a freed key can be taken again", async () => {
      const coll = await indexed();
      const a = await coll.insertOne({ email: "a@x.io", org: 1, code: "a" });
      await coll.updateOne({ _id: a._id }, { $set: { email: "a2@x.io" } });
      await coll.insertOne({ email: "a@x.io", org: 2, code: "a" });
      expect(await coll.countDocuments()).toBe(2);
    });
  });
}
