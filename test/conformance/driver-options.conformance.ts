import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Collection, type Db, type Document, Long } from "mongodb";
import { type Backend, type BackendFactory, freshName } from "./backends";
import { featureOrRefusal } from "./refusals";
import { E, expectServerError } from "./server-error";

/**
 * What the port does not expose but MongoDB's driver sends, checked through the official driver:
 * arrayFilters, pipeline-style updates, `let`, `$out`/`$merge`, `hint`, collation, unknown
 * command fields (refused by 7.0 with 40415), and the refusal list.
 */
/** Test documents with any `_id` (the driver's default schema wants an ObjectId). */
type Row = Document & { _id: number | string };

export function driverOptionsConformance(factory: BackendFactory): void {
  let b: Backend;
  let db: Db;
  beforeAll(async () => {
    b = await factory.start();
    if (!b.db) throw new Error(`${b.name} has no driver connection`);
    db = b.db;
  });
  afterAll(async () => {
    await b?.teardown();
  });

  const seeded = async (docs: Row[]): Promise<Collection<Row>> => {
    const coll = db.collection<Row>(freshName("drv"));
    if (docs.length) await coll.insertMany(docs);
    return coll;
  };
  const all = (coll: Collection<Row>) => coll.find({}, { sort: { _id: 1 } }).toArray();

  describe("arrayFilters and positional operators", () => {
    test("$[id] updates the elements its filter selects, $[] all, $ the matched one", async () => {
      const coll = await seeded([{ _id: 1, grades: [80, 95, 88], items: [{ q: 1 }, { q: 9 }] }]);
      await coll.updateOne(
        { _id: 1 },
        { $set: { "grades.$[g]": 100 } },
        { arrayFilters: [{ g: { $gte: 88 } }] },
      );
      await coll.updateOne({ _id: 1 }, { $inc: { "items.$[].q": 1 } });
      await coll.updateOne({ _id: 1, "items.q": 10 }, { $set: { "items.$.hit": true } });
      expect(await all(coll)).toEqual([
        { _id: 1, grades: [80, 100, 100], items: [{ q: 2 }, { q: 10, hit: true }] },
      ]);
    });

    test("an arrayFilters identifier the update does not use → FailedToParse (9)", async () => {
      const coll = await seeded([{ _id: 1, a: [1] }]);
      await expectServerError(
        coll.updateOne({ _id: 1 }, { $set: { a: [2] } }, { arrayFilters: [{ x: 1 }] }),
        E.FailedToParse,
      );
    });
  });

  describe("pipeline-style updates", () => {
    test("$set with expressions, $unset, and $replaceWith", async () => {
      const coll = await seeded([
        { _id: 1, a: 2, b: 3, tmp: true },
        { _id: 2, a: 1, b: 1, tmp: true },
      ]);
      const res = await coll.updateMany({}, [
        { $set: { total: { $add: ["$a", "$b"] } } },
        { $unset: "tmp" },
      ]);
      expect(res).toMatchObject({ matchedCount: 2, modifiedCount: 2 });
      await coll.updateOne({ _id: 2 }, [
        { $replaceWith: { $mergeObjects: [{ kept: "$total" }, { note: "replaced" }] } },
      ]);
      expect(await all(coll)).toEqual([
        { _id: 1, a: 2, b: 3, total: 5 },
        { _id: 2, kept: 2, note: "replaced" },
      ]);
    });

    test("findOneAndUpdate with a pipeline; an upsert runs it on the filter's equalities", async () => {
      const coll = await seeded([{ _id: 1, n: 1 }]);
      const after = await coll.findOneAndUpdate(
        { _id: 1 },
        [{ $set: { n: { $multiply: ["$n", 10] } } }],
        { returnDocument: "after" },
      );
      expect(after).toEqual({ _id: 1, n: 10 });
      await coll.updateOne({ _id: 2 }, [{ $set: { twice: { $multiply: ["$_id", 2] } } }], {
        upsert: true,
      });
      expect(await coll.findOne({ _id: 2 })).toEqual({ _id: 2, twice: 4 });
    });

    test("a stage other than $set/$unset/$addFields/$project/$replaceRoot/$replaceWith is refused", async () => {
      const coll = await seeded([{ _id: 1 }]);
      const err = await expectServerError(
        coll.updateOne({ _id: 1 }, [{ $match: { _id: 1 } }]),
        E.InvalidOptions,
      );
      expect(err.message).toContain("$match");
    });
  });

  describe("let variables", () => {
    test("find and aggregate see $$names in $expr", async () => {
      const coll = await seeded([
        { _id: 1, n: 5 },
        { _id: 2, n: 7 },
      ]);
      const found = await coll
        .find({ $expr: { $gt: ["$n", "$$min"] } }, { let: { min: 6 } })
        .toArray();
      expect(found).toEqual([{ _id: 2, n: 7 }]);
      const agg = await coll
        .aggregate([{ $project: { plus: { $add: ["$n", "$$k"] } } }], { let: { k: 100 } })
        .toArray();
      expect(agg).toEqual([
        { _id: 1, plus: 105 },
        { _id: 2, plus: 107 },
      ]);
    });

    test("updates and deletes filter with $$names; pipelines read them", async () => {
      const coll = await seeded([
        { _id: 1, n: 5 },
        { _id: 2, n: 7 },
      ]);
      await coll.updateOne({ $expr: { $eq: ["$_id", "$$id"] } }, [{ $set: { tag: "$$tag" } }], {
        let: { id: 1, tag: { $literal: "$notAField" } },
      });
      await coll.deleteMany({ $expr: { $eq: ["$n", "$$n"] } }, { let: { n: 7 } });
      expect(await all(coll)).toEqual([{ _id: 1, n: 5, tag: "$notAField" }]);
    });
  });

  describe("$out and $merge", () => {
    test("$out replaces the target collection with the pipeline's result", async () => {
      const src = await seeded([
        { _id: 1, g: "a", n: 1 },
        { _id: 2, g: "a", n: 2 },
        { _id: 3, g: "b", n: 5 },
      ]);
      const target = await seeded([{ _id: "old" }]);
      const out = await src
        .aggregate([
          { $group: { _id: "$g", sum: { $sum: "$n" } } },
          { $out: target.collectionName },
        ])
        .toArray();
      expect(out).toEqual([]);
      expect(await all(target)).toEqual([
        { _id: "a", sum: 3 },
        { _id: "b", sum: 5 },
      ]);
    });

    test("$merge: merge matched documents, insert the others; replace, keepExisting", async () => {
      const src = await seeded([
        { _id: 1, v: "new1" },
        { _id: 2, v: "new2" },
      ]);
      const target = await seeded([{ _id: 1, v: "old1", keep: true }]);
      await src.aggregate([{ $merge: { into: target.collectionName } }]).toArray();
      expect(await all(target)).toEqual([
        { _id: 1, v: "new1", keep: true },
        { _id: 2, v: "new2" },
      ]);
      const t2 = await seeded([{ _id: 1, v: "old1", keep: true }]);
      await src
        .aggregate([
          {
            $merge: { into: t2.collectionName, whenMatched: "replace", whenNotMatched: "discard" },
          },
        ])
        .toArray();
      expect(await all(t2)).toEqual([{ _id: 1, v: "new1" }]);
      const t3 = await seeded([{ _id: 1, v: "old1" }]);
      await src
        .aggregate([{ $merge: { into: t3.collectionName, whenMatched: "keepExisting" } }])
        .toArray();
      expect(await all(t3)).toEqual([
        { _id: 1, v: "old1" },
        { _id: 2, v: "new2" },
      ]);
    });

    test("$merge whenMatched fail → DuplicateKey (11000); whenNotMatched fail → 13113", async () => {
      const src = await seeded([{ _id: 1, v: 1 }]);
      const matched = await seeded([{ _id: 1 }]);
      await expectServerError(
        src
          .aggregate([{ $merge: { into: matched.collectionName, whenMatched: "fail" } }])
          .toArray(),
        E.DuplicateKey,
      );
      const empty = await seeded([{ _id: 9 }]);
      await expectServerError(
        src
          .aggregate([{ $merge: { into: empty.collectionName, whenNotMatched: "fail" } }])
          .toArray(),
        { code: 13113, codeName: "MergeStageNoMatchingDocument" },
      );
    });

    test("$merge with a pipeline for matched documents, and on a unique field", async () => {
      const src = await seeded([{ _id: 10, email: "a@x.io", n: 2 }]);
      const target = await seeded([{ _id: 1, email: "a@x.io", n: 5 }]);
      await target.createIndex({ email: 1 }, { unique: true });
      await src
        .aggregate([
          {
            $merge: {
              into: target.collectionName,
              on: "email",
              whenMatched: [{ $set: { n: { $add: ["$n", "$$new.n"] } } }],
            },
          },
        ])
        .toArray();
      expect(await all(target)).toEqual([{ _id: 1, email: "a@x.io", n: 7 }]);
    });

    test("$merge on a field without a unique index → 51183", async () => {
      const src = await seeded([{ _id: 1, email: "a@x.io" }]);
      const target = await seeded([]);
      await expectServerError(
        src.aggregate([{ $merge: { into: target.collectionName, on: "email" } }]).toArray(),
        { code: 51183, codeName: "Location51183" },
      );
    });

    test("$out anywhere but last → 40601", async () => {
      const src = await seeded([{ _id: 1 }]);
      await expectServerError(src.aggregate([{ $out: "elsewhere" }, { $match: {} }]).toArray(), {
        code: 40601,
        codeName: "Location40601",
      });
    });

    test("$out into another database (refusal list: crossDatabaseOutput)", async () => {
      const src = await seeded([{ _id: 1 }]);
      const otherDb = `${db.databaseName}_other`;
      await featureOrRefusal(b, "crossDatabaseOutput", async () => {
        await src.aggregate([{ $out: { db: otherDb, coll: "copy" } }]).toArray();
        await db.client.db(otherDb).dropDatabase();
      });
    });
  });

  describe("_id: null", () => {
    test("is a value: stored by insert and by an upsert on { _id: null }, and unique", async () => {
      const coll = await seeded([]);
      const name = coll.collectionName;
      // The driver would replace a null _id by an ObjectId before sending: send the command.
      await db.command({ insert: name, documents: [{ _id: null, by: "insert" }] });
      expect(await coll.countDocuments({ _id: { $type: "null" } })).toBe(1);
      await expectServerError(
        db.command({ insert: name, documents: [{ _id: null }] }).then((r) => {
          if (r.writeErrors?.length)
            throw Object.assign(new Error(r.writeErrors[0].errmsg), r.writeErrors[0]);
        }),
        E.DuplicateKey,
      );
      const other = await seeded([]);
      const res = await other.updateOne(
        { _id: null } as unknown as Row,
        { $set: { by: "upsert" } },
        { upsert: true },
      );
      expect(res.upsertedCount).toBe(1);
      expect(res.upsertedId).toBeNull();
      expect(await other.find({}).toArray()).toEqual([
        { _id: null, by: "upsert" },
      ] as unknown as Row[]);
    });
  });

  describe("aggregation", () => {
    test("$sort on an array field: ascending by the smallest element, descending by the largest", async () => {
      const coll = await seeded([
        { _id: 1, v: [1, 5] },
        { _id: 2, v: 3 },
        { _id: 3, v: [0, 4] },
      ]);
      const ids = async (dir: 1 | -1) =>
        (await coll.aggregate([{ $sort: { v: dir } }]).toArray()).map((d) => d._id);
      expect(await ids(1)).toEqual([3, 1, 2]);
      expect(await ids(-1)).toEqual([1, 3, 2]);
    });
  });

  describe("number types", () => {
    // "$inc … if the result would overflow a 32-bit integer, the field becomes a 64-bit long."
    test("$inc of an int past 2^31 - 1 stores a long", async () => {
      const coll = await seeded([{ _id: 1, n: 2147483647 }]);
      await coll.updateOne({ _id: 1 }, { $inc: { n: 1 } });
      const raw = await coll.findOne({ _id: 1 }, { promoteLongs: false, promoteValues: false });
      expect((raw?.n as { _bsontype?: string } | undefined)?._bsontype).toBe("Long");
      expect(String(raw?.n)).toBe("2147483648");
      expect(await coll.countDocuments({ n: { $type: "long" } })).toBe(1);
    });
  });

  describe("hint", () => {
    test("a hint to an existing index (by name or key) is followed; to a missing one → BadValue (2)", async () => {
      const coll = await seeded([
        { _id: 1, k: 1 },
        { _id: 2, k: 2 },
      ]);
      await coll.createIndex({ k: 1 }, { name: "k_idx" });
      expect(await coll.find({ k: 2 }, { hint: "k_idx" }).toArray()).toEqual([{ _id: 2, k: 2 }]);
      expect(await coll.countDocuments({}, { hint: { k: 1 } })).toBe(2);
      await expectServerError(coll.find({}, { hint: "nope_1" }).toArray(), E.BadValue);
      await expectServerError(coll.find({}, { hint: { nope: 1 } }).toArray(), E.BadValue);
      await expectServerError(
        coll.updateOne({ k: 1 }, { $set: { x: 1 } }, { hint: "nope_1" }),
        E.BadValue,
      );
      await expectServerError(coll.deleteOne({ k: 1 }, { hint: { nope: 1 } }), E.BadValue);
      expect(await all(coll)).toEqual([
        { _id: 1, k: 1 },
        { _id: 2, k: 2 },
      ]);
    });
  });

  describe("unknown operators", () => {
    test("query operator → BadValue (2), stage → 40324, expression → InvalidPipelineOperator (168)", async () => {
      const coll = await seeded([{ _id: 1, a: 1 }]);
      await expectServerError(coll.find({ a: { $frob: 1 } }).toArray(), E.BadValue);
      await expectServerError(coll.aggregate([{ $frob: {} }]).toArray(), {
        code: 40324,
        codeName: "Location40324",
      });
      await expectServerError(coll.aggregate([{ $project: { x: { $frob: ["$a"] } } }]).toArray(), {
        code: 168,
        codeName: "InvalidPipelineOperator",
      });
    });
  });

  describe("malformed sorts", () => {
    test("a sort value other than 1/-1 → 15975 (the driver checks its own sorts: sent raw)", async () => {
      const coll = await seeded([{ _id: 1 }]);
      await expectServerError(db.command({ find: coll.collectionName, sort: { _id: 2 } }), {
        code: 15975,
        codeName: "Location15975",
      });
      await expectServerError(
        db.command({
          aggregate: coll.collectionName,
          pipeline: [{ $sort: { _id: 0 } }],
          cursor: {},
        }),
        { code: 15975, codeName: "Location15975" },
      );
    });
  });

  describe("unknown command fields", () => {
    test("refused with 40415, at the command and inside update/delete statements", async () => {
      const coll = await seeded([{ _id: 1 }]);
      const name = coll.collectionName;
      await expectServerError(db.command({ find: name, filter: {}, bogus: 1 }), E.UnknownField);
      await expectServerError(
        db.command({ update: name, updates: [{ q: {}, u: { $set: { a: 1 } }, bogus: 1 }] }),
        E.UnknownField,
      );
      await expectServerError(
        db.command({ delete: name, deletes: [{ q: {}, limit: 0, bogus: 1 }] }),
        E.UnknownField,
      );
      await expectServerError(
        db.command({ findAndModify: name, query: {}, update: { $set: { a: 1 } }, bogus: 1 }),
        E.UnknownField,
      );
      expect(await all(coll)).toEqual([{ _id: 1 }]);
    });
  });

  describe("collation", () => {
    const words = () =>
      seeded([
        { _id: 1, w: "ping" },
        { _id: 2, w: "PING" },
        { _id: 3, w: "pïng" },
        { _id: 4, w: "pong" },
      ]);

    test("simple is binary comparison", async () => {
      const coll = await words();
      const found = await coll.find({ w: "ping" }, { collation: { locale: "simple" } }).toArray();
      expect(found.map((d) => d._id)).toEqual([1]);
    });

    test("strength 2 ignores case, strength 1 also diacritics (equality, $in, counts, writes)", async () => {
      const coll = await words();
      const ids = async (filter: Document, strength: number) =>
        (
          await coll
            .find(filter, { collation: { locale: "en", strength }, sort: { _id: 1 } })
            .toArray()
        ).map((d) => d._id);
      expect(await ids({ w: "Ping" }, 2)).toEqual([1, 2]);
      expect(await ids({ w: "Ping" }, 1)).toEqual([1, 2, 3]);
      expect(await ids({ w: { $in: ["PONG"] } }, 2)).toEqual([4]);
      expect(
        await coll.countDocuments({ w: "ping" }, { collation: { locale: "en", strength: 2 } }),
      ).toBe(2);
      const upd = await coll.updateMany(
        { w: "PiNg" },
        { $set: { hit: true } },
        { collation: { locale: "en", strength: 2 } },
      );
      expect(upd.modifiedCount).toBe(2);
      const del = await coll.deleteOne({ w: "PONG" }, { collation: { locale: "en", strength: 2 } });
      expect(del.deletedCount).toBe(1);
      expect(
        (await coll.distinct("w", {}, { collation: { locale: "en", strength: 2 } })).length,
      ).toBe(2);
    });

    // ICU: in Swedish "å" is a letter of its own; in German "ß" equals "ss" at strength 1.
    test("tailored locales and strings the fold cannot compare (refusal list: collationLocales)", async () => {
      const coll = await seeded([
        { _id: 1, w: "a" },
        { _id: 2, w: "å" },
        { _id: 3, w: "strasse" },
        { _id: 4, w: "straße" },
      ]);
      await featureOrRefusal(b, "collationLocales", async () => {
        const found = await coll
          .find({ w: "a" }, { collation: { locale: "sv", strength: 1 } })
          .toArray();
        expect(found.map((d) => d._id)).toEqual([1]);
      });
      await featureOrRefusal(b, "collationLocales", async () => {
        const found = await coll
          .find({ w: "strasse" }, { collation: { locale: "de", strength: 1 }, sort: { _id: 1 } })
          .toArray();
        expect(found.map((d) => d._id)).toEqual([3, 4]);
      });
    });

    test("string ranges under a collation (refusal list: collatedOperations)", async () => {
      const coll = await seeded([
        { _id: 1, w: "apple" },
        { _id: 2, w: "Banana" },
      ]);
      await featureOrRefusal(b, "collatedOperations", async () => {
        const found = await coll
          .find({ w: { $gt: "b" } }, { collation: { locale: "en", strength: 2 } })
          .toArray();
        expect(found.map((d) => d._id)).toEqual([2]);
      });
    });

    test("numericOrdering and other options (refusal list: collationOptions)", async () => {
      const coll = await seeded([
        { _id: 1, v: "10" },
        { _id: 2, v: "9" },
      ]);
      await featureOrRefusal(b, "collationOptions", async () => {
        const sorted = await coll
          .find({}, { sort: { v: 1 }, collation: { locale: "en", numericOrdering: true } })
          .toArray();
        expect(sorted.map((d) => d._id)).toEqual([2, 1]);
      });
    });
  });

  describe("refusal list", () => {
    test("views", async () => {
      const src = await seeded([{ _id: 1, n: 1 }]);
      const view = freshName("view");
      await featureOrRefusal(b, "views", async () => {
        await db.createCollection(view, {
          viewOn: src.collectionName,
          pipeline: [{ $set: { twice: { $multiply: ["$n", 2] } } }],
        });
        expect(await db.collection<Row>(view).find().toArray()).toEqual([
          { _id: 1, n: 1, twice: 2 },
        ]);
      });
    });

    test("schema validators", async () => {
      const name = freshName("val");
      await featureOrRefusal(b, "validators", async () => {
        await db.createCollection(name, { validator: { n: { $type: "int" } } });
        await expectServerError(db.collection(name).insertOne({ n: "x" }), {
          code: 121,
          codeName: "DocumentValidationFailure",
        });
      });
    });

    test("collMod", async () => {
      const coll = await seeded([{ _id: 1 }]);
      await featureOrRefusal(b, "collMod", () =>
        db.command({ collMod: coll.collectionName, validator: {} }),
      );
    });

    test("an unknown index option → InvalidIndexSpecificationOption (197)", async () => {
      const coll = await seeded([{ _id: 1 }]);
      await expectServerError(
        db.command({
          createIndexes: coll.collectionName,
          indexes: [{ key: { a: 1 }, name: "a_1", bogus: true }],
        }),
        { code: 197, codeName: "InvalidIndexSpecificationOption" },
      );
    });

    test("TTL, partial and text indexes", async () => {
      const coll = await seeded([{ _id: 1, at: new Date(), s: "hello world" }]);
      await featureOrRefusal(b, "ttlIndexes", () =>
        coll.createIndex({ at: 1 }, { expireAfterSeconds: 3600 }),
      );
      await featureOrRefusal(b, "partialIndexes", async () => {
        await coll.createIndex(
          { email: 1 },
          { unique: true, partialFilterExpression: { email: { $exists: true } } },
        );
      });
      await featureOrRefusal(b, "specialIndexes", () => coll.createIndex({ s: "text" }));
    });

    test("capped collections", async () => {
      const name = freshName("capped");
      await featureOrRefusal(b, "specialCollections", async () => {
        await db.createCollection(name, { capped: true, size: 4096, max: 2 });
        const coll = db.collection<Row>(name);
        await coll.insertMany([{ _id: 1 }, { _id: 2 }, { _id: 3 }]);
        expect((await coll.find().toArray()).map((d) => d._id)).toEqual([2, 3]);
      });
    });

    test("hidden, wildcard and collated indexes, 2dsphere", async () => {
      const coll = await seeded([{ _id: 1, a: "x", loc: { type: "Point", coordinates: [0, 0] } }]);
      await featureOrRefusal(b, "hiddenIndexes", () =>
        coll.createIndex({ a: 1 }, { hidden: true }),
      );
      await featureOrRefusal(b, "wildcardIndexes", () => coll.createIndex({ "$**": 1 }));
      await featureOrRefusal(b, "indexCollations", () =>
        coll.createIndex({ a: -1 }, { collation: { locale: "en", strength: 2 } }),
      );
      await featureOrRefusal(b, "specialIndexes", () => coll.createIndex({ loc: "2dsphere" }));
    });

    test("$text and geospatial queries", async () => {
      const coll = await seeded([
        { _id: 1, s: "hello world", loc: { type: "Point", coordinates: [0, 0] } },
      ]);
      // Where text indexes exist this creates one; where they are refused, the query is next.
      await coll.createIndex({ s: "text" }).catch(() => undefined);
      await featureOrRefusal(b, "textAndGeoQueries", async () => {
        const found = await coll
          .find({ $text: { $search: "hello" } }, { sort: { score: { $meta: "textScore" } } })
          .toArray();
        expect(found.map((d) => d._id)).toEqual([1]);
      });
      await featureOrRefusal(b, "textAndGeoQueries", async () => {
        const circle = { $centerSphere: [[0, 0], 0.01] };
        expect(await coll.countDocuments({ loc: { $geoWithin: circle } })).toBe(1);
      });
    });

    test("tailable cursors", async () => {
      const name = freshName("tail");
      await db.createCollection(name, { capped: true, size: 4096 }).catch(() => undefined);
      await featureOrRefusal(b, "tailableCursors", async () => {
        const cursor = db.collection(name).find({}, { tailable: true, awaitData: false });
        await cursor.tryNext();
        await cursor.close();
      });
    });

    test("server stages mingo lacks", async () => {
      const coll = await seeded([{ _id: 1 }]);
      await featureOrRefusal(b, "serverStages", async () => {
        const [stats] = await coll.aggregate([{ $collStats: { count: {} } }]).toArray();
        expect(stats?.count).toBe(1);
      });
    });

    test("transactions", async () => {
      const coll = await seeded([]);
      const session = db.client.startSession();
      try {
        // Raw commands: the driver rewrites a standalone's refusal into its own message.
        const txn = { txnNumber: Long.fromNumber(1), autocommit: false };
        await featureOrRefusal(b, "transactions", async () => {
          await db.command(
            {
              insert: coll.collectionName,
              documents: [{ _id: 1 }],
              startTransaction: true,
              ...txn,
            },
            { session },
          );
          await db.admin().command({ commitTransaction: 1, ...txn }, { session });
          expect(await coll.countDocuments()).toBe(1);
        });
      } finally {
        await session.endSession();
      }
    });

    test("server-side JavaScript", async () => {
      const coll = await seeded([
        { _id: 1, n: 1 },
        { _id: 2, n: 2 },
      ]);
      await featureOrRefusal(b, "scripts", async () => {
        const found = await coll.find({ $where: "this.n === 2" }).toArray();
        expect(found.map((d) => d._id)).toEqual([2]);
      });
    });

    test("find with min/max/returnKey/showRecordId", async () => {
      const coll = await seeded([{ _id: 1 }]);
      await featureOrRefusal(b, "indexBoundFind", async () => {
        // A collection scan has no index keys to return: mongod answers empty documents.
        const keys = await coll.find({}, { returnKey: true }).toArray();
        expect(keys).toEqual([{}] as unknown as Row[]);
      });
    });
  });
}
