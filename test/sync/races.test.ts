import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { userKey } from "../../plugins/cache-sync";
import type { CacheSyncService } from "../../src/domain/cache-sync";
import { seedUser } from "../support/seed";
import { createTestStack, type TestStack } from "../support/stack";
import { pluginsWithProbe, probePlugin } from "./helpers";

let stack: TestStack;
let svc: CacheSyncService;
const probe = probePlugin();

beforeAll(async () => {
  stack = await createTestStack({ plugins: pluginsWithProbe(probe) });
  svc = stack.ctx.use("cacheSync");
});
afterAll(() => stack.close());

const cachedVersion = async (id: string) => {
  const raw = await stack.stores.cache.get(userKey(stack.config.CACHE_PREFIX, id));
  return raw ? (JSON.parse(raw).version as number) : null;
};
const dbVersion = async (id: string) =>
  (
    (await stack.ctx.db.collection("users").findOne({ _id: new ObjectId(id) })) as unknown as {
      version: number;
    }
  ).version;

describe("forced interleavings end on the newest version", () => {
  test("slow fill vs write-through: the fill of the older version is refused", async () => {
    const u = await seedUser(stack.ctx);
    await svc.invalidateUserCache(u.id);
    const held = probe.hold((op) => op === "findOne");
    const read = svc.getUserWithSync(u.id); // reads v1 from MongoDB, then waits
    await held.reached;
    const written = await svc.updateUserWithSync(u.id, { $set: { bio: "newer" } }); // v2 written through
    expect(await cachedVersion(u.id)).toBe(written?.version as number);
    held.release();
    // It began before the write, so the version its load read is correct for it.
    expect((await read)?.version).toBe(u.version);
    expect(await cachedVersion(u.id)).toBe(await dbVersion(u.id));
    expect((await svc.getUserWithSync(u.id))?.bio).toBe("newer");
  });

  test("slow fill vs invalidation after a write Redis never saw: the tombstone blocks the older fill", async () => {
    const u = await seedUser(stack.ctx);
    await svc.invalidateUserCache(u.id);
    const held = probe.hold((op) => op === "findOne");
    const read = svc.getUserWithSync(u.id);
    await held.reached;
    // Another writer that skips the cache (hooks off), then invalidates: the classic race.
    await stack.ctx.db
      .collection("users")
      .updateOne({ _id: new ObjectId(u.id) }, { $set: { bio: "raw" }, $inc: { version: 1 } });
    await svc.invalidateUserCache(u.id);
    held.release();
    await read;
    const v = await cachedVersion(u.id);
    expect(v === null || v === (await dbVersion(u.id))).toBe(true);
    expect((await svc.getUserWithSync(u.id))?.bio).toBe("raw");
    expect(await cachedVersion(u.id)).toBe(await dbVersion(u.id));
  });

  test("two write-throughs landing out of order: the later version stays", async () => {
    const u = await seedUser(stack.ctx);
    const held = probe.hold((op) => op === "findOneAndUpdate");
    const first = svc.updateUserWithSync(u.id, { $set: { bio: "first" } }); // v2, its cache write held back
    await held.reached;
    const second = await svc.updateUserWithSync(u.id, { $set: { bio: "second" } }); // v3 lands first
    held.release();
    const firstResult = await first;
    expect(firstResult?.version).toBe(u.version + 1);
    expect(second?.version).toBe(u.version + 2);
    expect(await cachedVersion(u.id)).toBe(u.version + 2);
    expect((await svc.getUserWithSync(u.id))?.bio).toBe("second");
  });

  test("slow fill vs write-through then eviction: the older fill does not land in the empty key", async () => {
    const u = await seedUser(stack.ctx);
    await stack.stores.cache.del([userKey(stack.config.CACHE_PREFIX, u.id)]); // a cold key
    const held = probe.hold((op) => op === "findOne");
    const read = svc.getUserWithSync(u.id); // takes the fill lease, reads v1, waits
    await held.reached;
    const written = await svc.updateUserWithSync(u.id, { $set: { bio: "newer" } }); // v2 written through
    await stack.stores.cache.del([userKey(stack.config.CACHE_PREFIX, u.id)]); // v2 evicted (maxmemory)
    held.release();
    await read;
    expect(await cachedVersion(u.id)).toBeNull(); // versions alone would have let v1 in here
    expect((await svc.getUserWithSync(u.id))?.version).toBe(written?.version as number);
  });

  test("a reader arriving after a write does not join a load that read the older version", async () => {
    const u = await seedUser(stack.ctx);
    await svc.invalidateUserCache(u.id);
    const held = probe.hold((op) => op === "findOne");
    const early = svc.getUserWithSync(u.id);
    await held.reached;
    const w = await svc.updateUserWithSync(u.id, { $set: { bio: "w" } });
    const late = await svc.getUserWithSync(u.id); // began after the write was acknowledged
    expect(late?.version).toBe(w?.version as number);
    held.release();
    await early;
  });
});
