import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { encodeChange } from "../../plugins/cache/write-behind/coalesce";
import { writeBehindKeys } from "../../plugins/cache/write-behind/keys";
import type { RedisCacheStore } from "../../src/adapters/redis/redis-cache-store";
import type { Doc } from "../../src/core/ports/document-store";
import { createTestStack, type TestStack } from "../support/stack";
import { newListing } from "./support";

/**
 * Overlays moved from a hash to a JSON string key (read in the entry's MGET). A deploy meets the
 * previous version's hashes with changes still queued: the script that updates an overlay (a new
 * change, or the flush asking its generation) takes a hash over in place, `gen` and running
 * totals included, so `_wb.n` keeps counting in the same generation and every later read is
 * exact. Until then a reader does not see the hash (MGET answers nil for it): MongoDB's value, at
 * most one flush behind, as for an overlay that could not be read.
 */
describe("write-behind overlays of the previous format (hashes)", () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await createTestStack({ env: { WRITE_BEHIND_FLUSH_MS: 60_000 } });
  });
  afterAll(() => stack?.close());

  /** What the previous version left: `views` +1 changes queued and in a hash overlay. */
  async function leftByPreviousVersion(views: number): Promise<{ id: string; key: string }> {
    const id = await newListing(stack.ctx.stores.db, { viewCount: 10 });
    const keys = writeBehindKeys(stack.config.CACHE_PREFIX);
    const redis = (stack.stores.cache as RedisCacheStore).client;
    for (let i = 0; i < views; i++)
      await redis.xadd(
        keys.queue,
        "*",
        ...Object.entries(
          encodeChange({ collection: "listings", id, add: { viewCount: 1 }, max: {} }),
        ).flat(),
      );
    const key = keys.overlay("listings", id);
    await redis.hset(key, { gen: "1764000000000001", viewCount: String(views) });
    return { id, key };
  }

  const shown = async (id: string) =>
    (await stack.ctx.use("cache").collection("listings")?.get(id))?.viewCount;
  const stored = async (id: string) =>
    (await stack.ctx.stores.db.collection<Doc>("listings").findOne({ _id: new ObjectId(id) }))
      ?.viewCount;
  const view = (id: string) =>
    stack.ctx.use("writeBehind").change("listings", id, { add: { viewCount: 1 } });

  // `takeOver: false` is the check's mutation: the hash dropped instead (a new generation).
  async function scenario(takeOver: boolean): Promise<number[]> {
    const { id, key } = await leftByPreviousVersion(3);
    const seen: number[] = [(await shown(id)) as number];
    if (!takeOver) await stack.stores.cache.del([key]);
    await view(id);
    seen.push((await shown(id)) as number);
    await stack.ctx.use("writeBehind").flush();
    seen.push((await stored(id)) as number, (await shown(id)) as number);
    await view(id);
    seen.push((await shown(id)) as number);
    await stack.ctx.use("writeBehind").flush();
    seen.push((await stored(id)) as number, (await shown(id)) as number);
    return seen;
  }

  test("a change takes the hash over: every read after it exact, MongoDB exact", async () => {
    // Before: the hash unseen (one flush behind). Then 13, flushed 14 shown 14, 15, flushed 15.
    expect(await scenario(true)).toEqual([10, 14, 14, 14, 15, 15, 15]);
    // The check catches a migration that starts a new generation: reads fall behind for good.
    const dropped = await scenario(false);
    expect(dropped.slice(2, 4)).toEqual([14, 14]);
    expect(dropped[4]).toBe(14);
  });

  test("the flush takes a hash over too; the overlay is a string key after it", async () => {
    const { id, key } = await leftByPreviousVersion(2);
    await stack.ctx.use("writeBehind").flush();
    const redis = (stack.stores.cache as RedisCacheStore).client;
    expect(await redis.type(key)).toBe("string");
    expect(JSON.parse((await redis.get(key)) as string)).toEqual({
      gen: "1764000000000001",
      viewCount: "2",
    });
    expect(await stored(id)).toBe(12);
    await view(id);
    expect(await shown(id)).toBe(13);
  });
});
