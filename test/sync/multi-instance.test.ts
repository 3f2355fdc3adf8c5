import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { seedUser } from "../support/seed";
import { createTestStack, type TestStack } from "../support/stack";
import { pluginsWithProbe, probePlugin } from "./helpers";

/** Two API instances on one Redis and one database, as in production behind a load balancer. */
let a: TestStack;
let b: TestStack;
const probeB = probePlugin();

beforeAll(async () => {
  a = await createTestStack();
  b = await createTestStack({
    redis: a.redis,
    mongo: a.mongo,
    dbName: a.dbName,
    env: { CACHE_PREFIX: a.config.CACHE_PREFIX },
    plugins: pluginsWithProbe(probeB),
  });
});
afterAll(async () => {
  await b.close();
  await a.close();
});

describe("two instances", () => {
  test("a reader on B that starts after a write acknowledged on A never gets the older version from B's in-flight load", async () => {
    const u = await seedUser(a.ctx);
    await a.ctx.use("cacheSync").invalidateUserCache(u.id);
    await a.stores.cache.del([a.ctx.use("cacheEngine").userKey(u.id)]);
    const held = probeB.hold((op) => op === "findOne");
    const early = b.ctx.use("cacheSync").getUserWithSync(u.id); // B's load reads v1, then waits
    await held.reached;
    // On A: a write that skips the cache, then an invalidation (what a writer does when its
    // write-through could not run): Redis now holds a tombstone at v2.
    await a.ctx.db
      .collection("users")
      .updateOne({ _id: new ObjectId(u.id) }, { $set: { bio: "from A" }, $inc: { version: 1 } });
    await a.ctx.use("cacheSync").invalidateUserCache(u.id);
    const late = b.ctx.use("cacheSync").getUserWithSync(u.id); // misses on the tombstone, joins B's load
    held.release();
    const [e, l] = await Promise.all([early, late]);
    expect(l?.version).toBe(u.version + 1);
    expect(l?.bio).toBe("from A");
    expect(e?.version).toBeGreaterThanOrEqual(u.version);
  });

  test("a write on A is read on B from the shared cache", async () => {
    const u = await seedUser(a.ctx);
    await b.ctx.use("cacheSync").getUserWithSync(u.id);
    const w = await a.ctx.use("cacheSync").updateUserWithSync(u.id, { $set: { bio: "A wrote" } });
    probeB.reset();
    const r = await b.ctx.use("cacheSync").getUserWithSync(u.id);
    expect(r?.version).toBe(w?.version as number);
    expect(probeB.count("findOne")).toBe(0);
  });
});
