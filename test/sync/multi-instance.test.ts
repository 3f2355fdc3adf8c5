import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { defaultPlugins } from "../../app/plugins";
import { holdCacheCall } from "../support/cache-gate";
import { createPeerStack, createTestStack, type TestStack } from "../support/stack";
import { storeProbe } from "../support/store-probe";
import { cacheOf, SUBJECTS } from "./collections";

/** Two API instances on one Redis and one database, as in production behind a load balancer. */
let a: TestStack;
let b: TestStack;
const probeA = storeProbe(["users", "listings"], "test-probe");
const probeB = storeProbe(["users", "listings"], "test-probe");

beforeAll(async () => {
  a = await createTestStack({ plugins: [...defaultPlugins(), probeA.plugin] });
  b = await createPeerStack(a, { plugins: [...defaultPlugins(), probeB.plugin] });
});
afterAll(async () => {
  await b.close();
  await a.close();
});

describe.each(SUBJECTS)("two instances ($name)", (s) => {
  const onA = () => cacheOf(a.ctx, s);
  const onB = () => cacheOf(b.ctx, s);
  const set = (value: string) => ({ $set: { [s.field]: value } });
  const held = (probe: typeof probeA, op: string) => probe.hold((c, o) => c === s.name && o === op);

  test("a reader on B that starts after a write acknowledged on A never gets the older version from B's in-flight load", async () => {
    const d = await s.seed(a.ctx);
    await onA().invalidate(d.id);
    await a.stores.cache.del([onA().engine.key(d.id)]);
    const read = held(probeB, "findOne");
    const early = onB().get(d.id); // B's load reads v1, then waits
    await read.reached;
    // On A: a write that skips the cache, then an invalidation (what a writer does when its
    // write-through could not run): Redis is now emptied.
    await a.ctx.stores.db
      .collection(s.name)
      .updateOne(
        { _id: new ObjectId(d.id) },
        { $set: { [s.field]: "from A" }, $inc: { version: 1 } },
      );
    await onA().invalidate(d.id);
    const late = onB().get(d.id); // misses, must not join B's load
    read.release();
    const [e, l] = await Promise.all([early, late]);
    expect(l?.version).toBe(d.version + 1);
    expect(l?.[s.field]).toBe("from A");
    expect(e?.version).toBeGreaterThanOrEqual(d.version);
  });

  /**
   * The hole the jittered checker found: B's load read v1, its fill landed (under its lease, before
   * A's write-through of v2), A's write was acknowledged, the entry was evicted, and a reader
   * arriving on B after all that joined B's load, still running, and got v1.
   */
  const fillLandedThenWriteThenEviction = async () => {
    const d = await s.seed(a.ctx);
    const key = onA().engine.key(d.id);
    await a.stores.cache.del([key]); // a cold key
    const readHeld = held(probeB, "findOne");
    const early = onB().get(d.id); // B's load: lease, reads v1, waits
    await readHeld.reached;
    const writeHeld = held(probeA, "findOneAndUpdate");
    const write = onA().update(d.id, set("from A"));
    await writeHeld.reached; // v2 is in MongoDB; A's write-through waits
    // B's load stops right after its fill of v1 landed (its leased set-if-newer answered).
    const fillHeld = holdCacheCall(
      b.stores.cache,
      "setIfNewer",
      (k, _v, _ver, _ttl, lease) => k === key && lease !== undefined && lease !== "write-through",
    );
    readHeld.release();
    await fillHeld.reached;
    writeHeld.release();
    const written = await write; // v2 written through and acknowledged
    await a.stores.cache.del([key]); // evicted (memory pressure)
    const late = onB().get(d.id); // begins after the acknowledgement
    await Bun.sleep(20);
    fillHeld.release();
    const [e, l] = await Promise.all([early, late]);
    expect(e?.version).toBe(d.version);
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
    const d = await s.seed(a.ctx);
    await onB().get(d.id);
    const w = await onA().update(d.id, set("A wrote"));
    probeB.reset();
    const r = await onB().get(d.id);
    expect(r?.version).toBe(w?.version as number);
    expect(probeB.count(s.name, "findOne")).toBe(0);
  });
});
