import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { CacheStore } from "../../src/core/ports/cache-store";
import type { BulkUpdateOne, DocumentStore } from "../../src/core/ports/document-store";

export interface WriteBehindOpsSubject {
  store: CacheStore;
  /** Every key the suite writes starts with this, so a shared Redis is left as found. */
  prefix: string;
  teardown(): Promise<void>;
}

/**
 * The write-behind operations of the CacheStore port (streams with a consumer group, overlay
 * overlays), the same on Redis and in the embedded store.
 */
export function writeBehindOpsContract(name: string, open: () => Promise<WriteBehindOpsSubject>) {
  describe(`CacheStore write-behind operations: ${name}`, () => {
    let s: WriteBehindOpsSubject;
    let store: CacheStore;
    let n = 0;
    const key = (label: string) => `${s.prefix}${label}:${++n}`;

    beforeAll(async () => {
      s = await open();
      store = s.store;
    });
    afterAll(async () => {
      await s?.teardown();
    });

    const overlayOf = async (k: string) => {
      const raw = await store.get(k);
      return raw === null ? null : (JSON.parse(raw) as Record<string, string>);
    };

    test("overlayAccumulate adds, raises only upwards, stamps a gen once and sets a TTL", async () => {
      const k = key("overlay");
      expect(await store.mget([k])).toEqual([null]);
      const first = await store.overlayAccumulate(k, { views: 2 }, { seen: 1_764_000_000_123 }, 60);
      expect(first).toMatchObject({ views: "2", seen: "1764000000123" });
      expect(first.gen).toMatch(/^\d{16}$/);
      const second = await store.overlayAccumulate(k, { views: 3, likes: 1 }, { seen: 5 }, 60);
      expect(second).toEqual({ gen: first.gen, views: "5", likes: "1", seen: "1764000000123" });
      await store.overlayAccumulate(k, { views: -1 }, { seen: 1_764_000_000_999 }, 60);
      // One string key: read by the same MGET as an entry.
      const [after, absent] = await store.mget([k, key("absent")]);
      expect(JSON.parse(after as string)).toEqual({
        gen: first.gen,
        views: "4",
        likes: "1",
        seen: "1764000000999",
      });
      expect(absent).toBeNull();
      expect(await store.ttl(k)).toBeGreaterThan(50);
    });

    test("overlay totals stay exact integers past 2^31 and 14 digits", async () => {
      const k = key("big");
      await store.overlayAccumulate(k, { n: 4_000_000_000_000_000 }, {}, 60);
      const o = await store.overlayAccumulate(k, { n: 7 }, {}, 60);
      expect(o.n).toBe("4000000000000007");
      expect((await overlayOf(k))?.n).toBe("4000000000000007");
    });

    test("an overlay created again gets a newer gen", async () => {
      const k = key("regen");
      const a = await store.overlayAccumulate(k, { n: 1 }, {}, 1);
      await store.del([k]);
      const b = await store.overlayAccumulate(k, { n: 1 }, {}, 60);
      expect(b.n).toBe("1");
      expect(BigInt(b.gen as string)).toBeGreaterThan(BigInt(a.gen as string));
    });

    test("streamAdd appends with increasing ids and refuses beyond maxLen (never trims)", async () => {
      const k = key("stream");
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const id = await store.streamAdd(k, { i: String(i) }, 5);
        expect(id).toMatch(/^\d+-\d+$/);
        ids.push(id as string);
      }
      expect(await store.streamAdd(k, { i: "5" }, 5)).toBeNull();
      expect(await store.streamBacklog(k)).toEqual({ length: 5, oldestId: ids[0] as string });
      const sorted = [...ids].sort((a, b) => {
        const [am, as] = a.split("-").map(Number) as [number, number];
        const [bm, bs] = b.split("-").map(Number) as [number, number];
        return am - bm || as - bs;
      });
      expect(sorted).toEqual(ids);
    });

    test("a consumer group delivers each entry once; ack deletes; the backlog shrinks", async () => {
      const k = key("group");
      await store.streamEnsureGroup(k, "g");
      await store.streamEnsureGroup(k, "g"); // kept, not an error
      expect(await store.streamBacklog(k)).toEqual({ length: 0, oldestId: null });
      for (let i = 0; i < 4; i++) await store.streamAdd(k, { i: String(i) }, 100);
      const a = await store.streamReadGroup(k, "g", "c1", 3);
      expect(a.map((e) => e.fields.i)).toEqual(["0", "1", "2"]);
      const b = await store.streamReadGroup(k, "g", "c2", 3);
      expect(b.map((e) => e.fields.i)).toEqual(["3"]);
      expect(await store.streamReadGroup(k, "g", "c1", 3)).toEqual([]);
      expect(
        await store.streamAckDelete(
          k,
          "g",
          a.map((e) => e.id),
        ),
      ).toBe(3);
      expect(
        await store.streamAckDelete(
          k,
          "g",
          a.map((e) => e.id),
        ),
      ).toBe(0);
      const backlog = await store.streamBacklog(k);
      expect(backlog).toEqual({ length: 1, oldestId: (b[0] as { id: string }).id });
    });

    test("readGroup on a stream that vanished recreates the group", async () => {
      const k = key("vanished");
      await store.streamEnsureGroup(k, "g");
      await store.del([k]);
      expect(await store.streamReadGroup(k, "g", "c", 10)).toEqual([]);
      await store.streamAdd(k, { x: "1" }, 10);
      expect((await store.streamReadGroup(k, "g", "c", 10)).map((e) => e.fields)).toEqual([
        { x: "1" },
      ]);
    });

    test("autoClaim hands over entries pending longer than minIdle, oldest first", async () => {
      const k = key("claim");
      await store.streamEnsureGroup(k, "g");
      for (let i = 0; i < 3; i++) await store.streamAdd(k, { i: String(i) }, 100);
      const dead = await store.streamReadGroup(k, "g", "dead", 10);
      expect(await store.streamAutoClaim(k, "g", "heir", 60_000, 10)).toEqual([]);
      await Bun.sleep(60);
      const claimed = await store.streamAutoClaim(k, "g", "heir", 50, 2);
      expect(claimed).toEqual(dead.slice(0, 2));
      // Now the heir's, freshly delivered: not idle enough to be claimed again.
      expect(await store.streamAutoClaim(k, "g", "other", 50, 10)).toEqual(dead.slice(2));
      expect(await store.streamAckDelete(k, "g", [...dead.map((e) => e.id)])).toBe(3);
      expect(await store.streamAutoClaim(k, "g", "other", 0, 10)).toEqual([]);
    });
  });
}

/** `bulkUpdate` of the DocumentStore port: one call, many statements, pipelines included. */
export function bulkUpdateContract(name: string, open: () => Promise<DocumentStore>) {
  describe(`DocumentStore bulkUpdate: ${name}`, () => {
    test("operator and pipeline statements, each on its own document, unordered", async () => {
      const db = await open();
      const coll = `bulk_${crypto.randomUUID().slice(0, 8)}`;
      const a = await db.collection(coll).insertOne({ n: 1 });
      const b = await db.collection(coll).insertOne({ n: 10, tag: "x" });
      const ops: BulkUpdateOne[] = [
        { filter: { _id: a._id }, update: { $inc: { n: 2 } } },
        {
          filter: { _id: b._id, tag: "x" },
          // $ifNull: the embedded engine's $max answers null for a missing field (MongoDB: 7).
          update: [
            { $set: { n: { $add: ["$n", 5] }, seen: { $max: [{ $ifNull: ["$seen", 7] }, 7] } } },
          ],
        },
        { filter: { _id: b._id, tag: "nope" }, update: { $inc: { n: 100 } } },
      ];
      expect(await db.bulkUpdate(coll, ops)).toEqual({ matchedCount: 2, modifiedCount: 2 });
      const docs = await db.collection(coll).find({}, { sort: { n: 1 } });
      expect(docs.map((d) => [d.n, d.seen])).toEqual([
        [3, undefined],
        [15, 7],
      ]);
      expect(await db.bulkUpdate(coll, [])).toEqual({ matchedCount: 0, modifiedCount: 0 });
      await db.close();
    });
  });
}

/** `bulkInsert` of the DocumentStore port: one call, duplicates reported by position, the rest inserted. */
export function bulkInsertContract(name: string, open: () => Promise<DocumentStore>) {
  describe(`DocumentStore bulkInsert: ${name}`, () => {
    test("unordered: a unique index refuses duplicates by position, the others land", async () => {
      const db = await open();
      const coll = `bulki_${crypto.randomUUID().slice(0, 8)}`;
      await db.ensureIndexes([{ collection: coll, key: { k: 1 }, unique: true, name: "k_unique" }]);
      await db.collection(coll).insertOne({ k: "b", n: 0 });
      const res = await db.bulkInsert(coll, [
        { k: "a", n: 1 },
        { k: "b", n: 2 },
        { k: "c", n: 3 },
        { k: "a", n: 4 },
      ]);
      expect(res.duplicates).toEqual([1, 3]);
      const docs = await db.collection(coll).find({}, { sort: { k: 1 } });
      expect(docs.map((d) => [d.k, d.n])).toEqual([
        ["a", 1],
        ["b", 0],
        ["c", 3],
      ]);
      expect(docs.every((d) => d._id !== undefined)).toBe(true);
      expect(await db.bulkInsert(coll, [])).toEqual({ duplicates: [] });
      await db.close();
    });
  });
}
