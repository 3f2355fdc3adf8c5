/**
 * Forced interleavings of the owner lists on two instances (A and B on one Redis and one
 * MongoDB), each run with every protection on, then with one switched off to show the test
 * notices its absence (plugins/cache/cache-sync/protections.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { defaultPlugins } from "../../app/plugins";
import type { OwnerList } from "../../plugins/cache/cache-sync/lists";
import type { ProtectionName } from "../../plugins/cache/cache-sync/protections";
import { createPeerStack, createTestStack, type TestStack } from "../support/stack";
import { listProbe, ownerScopedFind } from "./helpers";

const probeA = listProbe();
const probeB = listProbe();
let a: TestStack;
let b: TestStack;
beforeAll(async () => {
  a = await createTestStack({ plugins: [...defaultPlugins(), ...probeA.plugins] });
  b = await createPeerStack(a, { plugins: [...defaultPlugins(), ...probeB.plugins] });
});
afterAll(async () => {
  await b.close();
  await a.close();
});

const listOf = (s: TestStack): OwnerList => s.ctx.use("ownerLists").list("listings");

/** Both instances without `off` for the length of `run`. */
async function without<T>(off: readonly ProtectionName[], run: () => Promise<T>): Promise<T> {
  const set = (on: boolean) => {
    for (const s of [a, b])
      for (const name of off) s.ctx.use("cacheEngine").disableProtectionForTest(name, !on);
  };
  set(false);
  try {
    return await run();
  } finally {
    set(true);
  }
}

/** What MongoDB says the owner's list is now. */
const truth = async (owner: string) =>
  (
    await a.stores.db
      .collection("listings")
      .find({ userId: new ObjectId(owner) }, { sort: { createdAt: -1 }, limit: 50 })
  ).map((d) => d._id.toHexString());

const newOwner = async () => {
  const owner = new ObjectId().toHexString();
  const first = await a.stores.db
    .collection("listings")
    .insertOne({ userId: new ObjectId(owner), title: "v1", createdAt: new Date(1000) });
  return { owner, first: first._id };
};

/**
 * B's fill reads MongoDB, then waits; on A, a write through the repository (acknowledged: its
 * bump and invalidation done); optionally the key is evicted; then B's fill goes on. Stale when
 * a read after all that (on A, then on B) does not answer MongoDB's list.
 */
async function fillRacesWrite(write: "insert" | "delete", evict = false) {
  const { owner, first } = await newOwner();
  const held = probeB.hold(ownerScopedFind("listings"));
  const fill = listOf(b).read(owner);
  await held.reached;
  const repo = a.ctx.repo.collection("listings");
  if (write === "insert")
    await repo.insertOne({ userId: new ObjectId(owner), title: "v2", createdAt: new Date(2000) });
  else await repo.deleteOne({ _id: first });
  if (evict) await a.stores.cache.del([listOf(a).key(owner)]);
  held.release();
  await fill;
  const want = await truth(owner);
  const lateA = await listOf(a).read(owner);
  const lateB = await listOf(b).read(owner);
  return { stale: !Bun.deepEquals(lateA.ids, want) || !Bun.deepEquals(lateB.ids, want), lateA };
}

describe("fill vs write, two instances", () => {
  for (const write of ["insert", "delete"] as const) {
    test(`fill on B vs ${write} on A: the older list never lands`, async () => {
      expect((await fillRacesWrite(write)).stale).toBe(false);
    });
    test(`…with fill leases off, versions from MongoDB still refuse it`, async () => {
      expect((await without(["fillLeases"], () => fillRacesWrite(write))).stale).toBe(false);
    });
    test(`…with leases off and the version read after the query, it lands`, async () => {
      const r = await without(["fillLeases", "listVersionBeforeRead"], () => fillRacesWrite(write));
      expect(r.stale).toBe(true);
    });
    test(`…with versioned writes off (a plain SET), it lands`, async () => {
      expect((await without(["versionedWrites"], () => fillRacesWrite(write))).stale).toBe(true);
    });
  }
});

describe("evicted invalidation (issue 10's list hole)", () => {
  test("the write's emptied key is evicted before the fill stores: the fill is refused", async () => {
    const r = await fillRacesWrite("insert", true);
    expect(r.stale).toBe(false);
    expect(r.lateA.source).toBe("db"); // B's fill did not land
  });
  test("…with fill leases off, versions alone cannot tell and the fill lands", async () => {
    expect((await without(["fillLeases"], () => fillRacesWrite("insert", true))).stale).toBe(true);
  });
});

/**
 * Holds the next `method` call on `store` for `key` BEFORE it reaches Redis, and on release runs
 * `instead` (default: the call itself): a late invalidation.
 */
function holdBefore(
  s: TestStack,
  method: "del" | "invalidateVersioned",
  key: string,
  instead?: () => Promise<unknown>,
) {
  const store = s.stores.cache as unknown as Record<
    string,
    (...args: unknown[]) => Promise<unknown>
  >;
  const original = store[method] as (...args: unknown[]) => Promise<unknown>;
  let release!: () => void;
  let reached!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const reachedP = new Promise<void>((r) => (reached = r));
  store[method] = async (...args: unknown[]) => {
    const k = args[0];
    if (k !== key && !(Array.isArray(k) && k.includes(key)))
      return original.apply(s.stores.cache, args);
    delete store[method];
    reached();
    await released;
    return instead ? instead() : original.apply(s.stores.cache, args);
  };
  return { reached: reachedP, release };
}

/**
 * W1's invalidation (version 1) is late; meanwhile B's fill read version 1, W2 (version 2)
 * invalidated, a fill at version 2 landed and was evicted. Then W1's invalidation arrives, then
 * B's fill (which missed W2). A version floor left by W1 would admit B's fill; an emptied key
 * admits only a fill that leased it.
 */
async function lateInvalidation(asTombstone: boolean) {
  const { owner } = await newOwner();
  const key = listOf(a).key(owner);
  const leases = a.ctx.use("cacheEngine").protections.fillLeases;
  const w1Drop = holdBefore(
    a,
    leases ? "del" : "invalidateVersioned",
    key,
    asTombstone
      ? () => a.stores.cache.invalidateVersioned(key, 1, a.config.CACHE_MARKER_TTL_MS)
      : undefined,
  );
  const repoA = a.ctx.repo.collection("listings");
  const w1 = repoA.insertOne({ userId: new ObjectId(owner), title: "w1", createdAt: new Date(2) });
  await w1Drop.reached; // W1 in MongoDB, counter at 1, its invalidation not yet in Redis
  const held = probeB.hold(ownerScopedFind("listings"));
  const fill = listOf(b).read(owner); // reads version 1, then v1 and w1
  await held.reached;
  await b.ctx.repo
    .collection("listings")
    .insertOne({ userId: new ObjectId(owner), title: "w2", createdAt: new Date(3) });
  expect((await listOf(a).read(owner)).version).toBe(2); // a fill at version 2 landed…
  await a.stores.cache.del([key]); // …and was evicted
  w1Drop.release();
  await w1;
  held.release();
  expect((await fill).version).toBe(1);
  const late = await listOf(a).read(owner);
  return { stale: !Bun.deepEquals(late.ids, await truth(owner)) };
}

describe("a late invalidation after a newer write, fill and eviction", () => {
  test("the list kind empties keys: the fill that missed W2 is refused", async () => {
    expect((await lateInvalidation(false)).stale).toBe(false);
  });
  test("had W1 left a tombstone at its version, the fill would land even under leases", async () => {
    expect((await lateInvalidation(true)).stale).toBe(true);
  });
  test("with fill leases off (the version-only scheme: tombstones), it lands", async () => {
    expect((await without(["fillLeases"], () => lateInvalidation(false))).stale).toBe(true);
  });
});
