import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { holdCacheCall } from "../support/cache-gate";
import { seedUser } from "../support/seed";
import { createTestStack, type TestStack } from "../support/stack";
import { pluginsWithProbe, probePlugin } from "./helpers";

/** Two API instances on one Redis and one database, as in production behind a load balancer. */
let a: TestStack;
let b: TestStack;
const probeA = probePlugin();
const probeB = probePlugin();

beforeAll(async () => {
  a = await createTestStack({ plugins: pluginsWithProbe(probeA) });
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

  /**
   * The hole the jittered checker found: B's load read v1, its fill landed (under its lease, before
   * A's write-through of v2), A's write was acknowledged, the entry was evicted, and a reader
   * arriving on B after all that joined B's load, still running, and got v1.
   */
  const fillLandedThenWriteThenEviction = async () => {
    const u = await seedUser(a.ctx);
    const key = a.ctx.use("cacheEngine").userKey(u.id);
    await a.stores.cache.del([key]); // a cold key
    const readHeld = probeB.hold((op) => op === "findOne");
    const early = b.ctx.use("cacheSync").getUserWithSync(u.id); // B's load: lease, reads v1, waits
    await readHeld.reached;
    const writeHeld = probeA.hold((op) => op === "findOneAndUpdate");
    const write = a.ctx.use("cacheSync").updateUserWithSync(u.id, { $set: { bio: "from A" } });
    await writeHeld.reached; // v2 is in MongoDB; A's write-through waits
    // B's load stops after its fill of v1 landed (the email index write comes next).
    const fillHeld = holdCacheCall(b.stores.cache, "set", (k) => k.includes("user:email:"));
    readHeld.release();
    await fillHeld.reached;
    writeHeld.release();
    const written = await write; // v2 written through and acknowledged
    await a.stores.cache.del([key]); // evicted (memory pressure)
    const late = b.ctx.use("cacheSync").getUserWithSync(u.id); // begins after the acknowledgement
    await Bun.sleep(20);
    fillHeld.release();
    const [e, l] = await Promise.all([early, late]);
    expect(e?.version).toBe(u.version);
    return { acknowledged: written?.version as number, late: l?.version };
  };

  test("a reader on B arriving after a write acknowledged on A does not join B's load whose MongoDB read began earlier", async () => {
    const { acknowledged, late } = await fillLandedThenWriteThenEviction();
    expect(late).toBe(acknowledged);
  });

  test("…and with the single-flight rule switched off, the same interleaving serves the older version", async () => {
    const engineB = b.ctx.use("cacheEngine");
    engineB.disableProtectionForTest("singleFlightRule");
    try {
      const { acknowledged, late } = await fillLandedThenWriteThenEviction();
      expect(late).toBe(acknowledged - 1);
    } finally {
      engineB.disableProtectionForTest("singleFlightRule", false);
    }
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
