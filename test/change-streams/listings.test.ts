/**
 * A declared collection other than users (listings) and writes made straight to MongoDB with the
 * official driver: a `$set` without a version bump, a replace and a delete reach
 * `GET /api/v1/listings/:id` through the change stream, and a fill that read the content before
 * an outside change cannot land after it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import type { Document } from "mongodb";
import { defaultPlugins } from "../../app/plugins";
import { entryKey } from "../../plugins/cache/cache-sync";
import type { ProtectionName } from "../../plugins/cache/cache-sync/protections";
import { seedListing } from "../support/seed";
import type { TestStack } from "../support/stack";
import { storeProbe } from "../support/store-probe";
import { type StreamServers, startStreamServers, streamStack, until } from "./helpers";

/** The loose test bound on visibility (the bench measures the real figure). */
const VISIBLE_MS = 5000;

let servers: StreamServers;
let stack: TestStack;
const probe = storeProbe(["listings"], "listing-interleaving-probe");

beforeAll(async () => {
  servers = await startStreamServers();
  stack = await streamStack(servers, { plugins: [...defaultPlugins(), probe.plugin] });
});
afterAll(async () => {
  await stack.close();
  await servers.close();
});

const outside = () => servers.client.db(stack.dbName).collection("listings");

const view = async (id: string) => {
  const res = await stack.call("GET", `/api/v1/listings/${id}`);
  return { status: res.status, body: (await res.json()) as { data?: Record<string, unknown> } };
};

async function cachedListing(id: string): Promise<Document | null> {
  const raw = await stack.stores.cache.get(entryKey(stack.config.CACHE_PREFIX, "listing", id));
  return raw ? (JSON.parse(raw) as Document) : null;
}

/** Nothing cached, or exactly MongoDB's sanitized document. */
async function listingMatchesDb(id: string): Promise<boolean> {
  const [entry, doc] = await Promise.all([
    cachedListing(id),
    stack.ctx.stores.db.collection("listings").findOne({ _id: new ObjectId(id) }),
  ]);
  if (!entry) return true;
  if (!doc) return false;
  const fresh = stack.ctx.use("cache").listings.engine.sanitize(doc);
  return Bun.deepEquals(JSON.parse(JSON.stringify(fresh)), entry);
}

describe("outside writes on listings through the API", () => {
  test("a $set without a version bump is served within the bound", async () => {
    const l = await seedListing(stack.ctx);
    expect((await view(l.id)).body.data?.title).toBe(l.title);
    expect(await cachedListing(l.id)).not.toBeNull();
    await outside().updateOne({ _id: l._id }, { $set: { title: "set by a script" } });
    await until(async () => (await view(l.id)).body.data?.title === "set by a script", VISIBLE_MS);
    expect(await listingMatchesDb(l.id)).toBe(true);
  });

  test("a replace keeping the version is served within the bound", async () => {
    const l = await seedListing(stack.ctx);
    await view(l.id);
    const doc = await outside().findOne({ _id: l._id });
    await outside().replaceOne({ _id: l._id }, { ...doc, title: "replaced", price: 1 });
    await until(async () => (await view(l.id)).body.data?.title === "replaced", VISIBLE_MS);
    expect((await view(l.id)).body.data?.price).toBe(1);
    expect(await listingMatchesDb(l.id)).toBe(true);
  });

  test("a delete: the API answers 404 within the bound", async () => {
    const l = await seedListing(stack.ctx);
    expect((await view(l.id)).status).toBe(200);
    await outside().deleteOne({ _id: l._id });
    await until(async () => (await view(l.id)).status === 404, VISIBLE_MS);
    expect(await cachedListing(l.id)).toBeNull();
  });
});

/**
 * A miss reads the listing from MongoDB and is held there; an outside `$set` (same version) is
 * committed and applied by the stream; then the fill goes on with the content it read before.
 * Returns what the cache and the API hold once the stream has caught up.
 */
async function fillRacingOutsideSet() {
  const l = await seedListing(stack.ctx);
  await stack.ctx.use("cache").listings.invalidate(l.id);
  const held = probe.hold((_c, op) => op === "findOne");
  const read = stack.ctx.use("cache").listings.get(l.id); // reads the old title, then waits
  await held.reached;
  await outside().updateOne({ _id: l._id }, { $set: { title: "outside" } });
  // A later outside change on another listing: once it is applied, the first one was too.
  const marker = await seedListing(stack.ctx);
  await view(marker.id);
  await outside().updateOne({ _id: marker._id }, { $set: { title: "marker" } });
  await until(async () => (await cachedListing(marker.id))?.title !== marker.title, VISIBLE_MS);
  held.release();
  const answered = (await read)?.title;
  // What the held fill left behind, before a read could fill the key afresh.
  const left = (await cachedListing(l.id))?.title ?? null;
  const served = (await view(l.id)).body.data?.title;
  return { before: l.title, answered, left, served, consistent: await listingMatchesDb(l.id) };
}

describe("a forced interleaving on listings", () => {
  test("a fill that read the content before an outside $set (same version) cannot land after it", async () => {
    const r = await fillRacingOutsideSet();
    // The read began before the change and returns what it read; the fill was refused.
    expect(r.answered).toBe(r.before);
    expect(r.left).toBeNull();
    expect(r.served).toBe("outside");
    expect(r.consistent).toBe(true);
  });

  test("the same check fails with fill leases and tombstones switched off", async () => {
    const engine = stack.ctx.use("cacheEngine");
    const off: ProtectionName[] = ["fillLeases", "tombstones"];
    for (const name of off) engine.disableProtectionForTest(name);
    try {
      const r = await fillRacingOutsideSet();
      expect(r.left).toBe(r.before);
      expect(r.served).not.toBe("outside");
      expect(r.consistent).toBe(false);
    } finally {
      for (const name of off) engine.disableProtectionForTest(name, false);
    }
  });
});
