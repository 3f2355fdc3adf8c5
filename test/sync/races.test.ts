import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { defaultPlugins } from "../../app/plugins";
import { createTestStack, type TestStack } from "../support/stack";
import { storeProbe } from "../support/store-probe";
import { cacheOf, dbVersionOf, SUBJECTS } from "./collections";

let stack: TestStack;
const probe = storeProbe(["users", "listings"], "test-probe");

beforeAll(async () => {
  stack = await createTestStack({ plugins: [...defaultPlugins(), probe.plugin] });
});
afterAll(() => stack.close());

describe.each(SUBJECTS)("forced interleavings end on the newest version ($name)", (s) => {
  const cache = () => cacheOf(stack.ctx, s);
  const key = (id: string) => cache().engine.key(id);
  const set = (value: string) => ({ $set: { [s.field]: value } });
  const cachedVersion = async (id: string) => {
    const raw = await stack.stores.cache.get(key(id));
    return raw ? (JSON.parse(raw).version as number) : null;
  };
  const dbVersion = (id: string) => dbVersionOf(stack.ctx, s, id);
  const hold = (op: string) => probe.hold((c, o) => c === s.name && o === op);

  test("slow fill vs write-through: the fill of the older version is refused", async () => {
    const d = await s.seed(stack.ctx);
    await cache().invalidate(d.id);
    const held = hold("findOne");
    const read = cache().get(d.id); // reads v1 from MongoDB, then waits
    await held.reached;
    const written = await cache().update(d.id, set("newer")); // v2 written through
    expect(await cachedVersion(d.id)).toBe(written?.version as number);
    held.release();
    // It began before the write, so the version its load read is correct for it.
    expect((await read)?.version).toBe(d.version);
    expect(await cachedVersion(d.id)).toBe(await dbVersion(d.id));
    expect((await cache().get(d.id))?.[s.field]).toBe("newer");
  });

  test("slow fill vs invalidation after a write Redis never saw: the tombstone blocks the older fill", async () => {
    const d = await s.seed(stack.ctx);
    await cache().invalidate(d.id);
    const held = hold("findOne");
    const read = cache().get(d.id);
    await held.reached;
    // Another writer that skips the cache (hooks off), then invalidates: the classic race.
    await stack.ctx.stores.db
      .collection(s.name)
      .updateOne({ _id: new ObjectId(d.id) }, { $set: { [s.field]: "raw" }, $inc: { version: 1 } });
    await cache().invalidate(d.id);
    held.release();
    await read;
    const v = await cachedVersion(d.id);
    expect(v === null || v === (await dbVersion(d.id))).toBe(true);
    expect((await cache().get(d.id))?.[s.field]).toBe("raw");
    expect(await cachedVersion(d.id)).toBe(await dbVersion(d.id));
  });

  test("two write-throughs landing out of order: the later version stays", async () => {
    const d = await s.seed(stack.ctx);
    const held = hold("findOneAndUpdate");
    const first = cache().update(d.id, set("first")); // v2, its cache write held back
    await held.reached;
    const second = await cache().update(d.id, set("second")); // v3 lands first
    held.release();
    const firstResult = await first;
    expect(firstResult?.version).toBe(d.version + 1);
    expect(second?.version).toBe(d.version + 2);
    expect(await cachedVersion(d.id)).toBe(d.version + 2);
    expect((await cache().get(d.id))?.[s.field]).toBe("second");
  });

  test("slow fill vs write-through then eviction: the older fill does not land in the empty key", async () => {
    const d = await s.seed(stack.ctx);
    await stack.stores.cache.del([key(d.id)]); // a cold key
    const held = hold("findOne");
    const read = cache().get(d.id); // takes the fill lease, reads v1, waits
    await held.reached;
    const written = await cache().update(d.id, set("newer")); // v2 written through
    await stack.stores.cache.del([key(d.id)]); // v2 evicted (maxmemory)
    held.release();
    await read;
    expect(await cachedVersion(d.id)).toBeNull(); // versions alone would have let v1 in here
    expect((await cache().get(d.id))?.version).toBe(written?.version as number);
  });

  test("a reader arriving after a write does not join a load that read the older version", async () => {
    const d = await s.seed(stack.ctx);
    await cache().invalidate(d.id);
    const held = hold("findOne");
    const early = cache().get(d.id);
    await held.reached;
    const w = await cache().update(d.id, set("w"));
    const late = await cache().get(d.id); // began after the write was acknowledged
    expect(late?.version).toBe(w?.version as number);
    held.release();
    await early;
  });

  test("getMany: a batch read of cached and cold entries, in order, with the cold ones leased and filled", async () => {
    const [a, b, c] = [await s.seed(stack.ctx), await s.seed(stack.ctx), await s.seed(stack.ctx)];
    await cache().get(a.id);
    await cache().invalidate(b.id);
    const unknown = new ObjectId().toHexString();
    probe.reset();
    const got = await cache().getMany([b.id, unknown, a.id, "nope", c.id]);
    expect(got.map((x) => x?.id ?? null)).toEqual([b.id, null, a.id, null, c.id]);
    // a was cached, c written through at its insert: b and the unknown id load, in one read.
    // (findOne is not counted: the observatory re-reads sampled users' versions that way.)
    expect(probe.count(s.name, "find")).toBe(1);
    expect(await cachedVersion(b.id)).toBe(b.version);
    probe.reset();
    await cache().getMany([a.id, b.id, c.id]);
    expect(probe.count(s.name, "find")).toBe(0);
  });
});
