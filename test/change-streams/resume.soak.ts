/**
 * The position survives the process: an API killed (-9) during a burst of outside writes
 * resumes where it stored its position and applies every one; history trimmed while no instance
 * consumed → a full reconcile; a second instance takes over a dead consumer within the lease.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import Redis from "ioredis";
import type { Collection, Document } from "mongodb";
import { entryKey, userKey } from "../../plugins/cache/cache-sync";
import { type ApiProcess, series, startApi } from "./api-process";
import { type StreamServers, startStreamServers, until } from "./helpers";

let servers: StreamServers;
let redis: Redis;
const procs: ApiProcess[] = [];

beforeAll(async () => {
  servers = await startStreamServers();
  redis = new Redis(servers.redis.url);
});
afterAll(async () => {
  for (const p of procs) await p.kill().catch(() => {});
  redis.disconnect();
  await servers.close();
});

interface Deployment {
  env: Record<string, string>;
  users: Collection<Document>;
  listings: Collection<Document>;
  prefix: string;
  dbName: string;
}

function deployment(): Deployment {
  const tag = Math.random().toString(36).slice(2, 8);
  const dbName = `cs_resume_${tag}`;
  const prefix = `r${tag}:`;
  return {
    dbName,
    prefix,
    users: servers.client.db(dbName).collection("users"),
    listings: servers.client.db(dbName).collection("listings"),
    env: {
      MONGO_URL: servers.url,
      MONGO_DB: dbName,
      REDIS_URL: servers.redis.url,
      CACHE_PREFIX: prefix,
    },
  };
}

async function api(d: Deployment): Promise<ApiProcess> {
  const p = await startApi(d.env);
  procs.push(p);
  return p;
}

/** Users inserted as registrations are (version 1), then read once through the API to cache them. */
async function seedCached(d: Deployment, p: ApiProcess, n: number): Promise<ObjectId[]> {
  const ids = Array.from({ length: n }, () => new ObjectId());
  await d.users.insertMany(
    ids.map((_id, i) => ({
      _id,
      email: `r${i}-${_id.toHexString()}@example.test`,
      username: `r${_id.toHexString()}`,
      role: "user",
      displayName: "initial",
      bio: "",
      avatarUrl: "",
      wallet: { balance: 0, currency: "USD" },
      version: 1,
      createdAt: new Date(),
      updatedAt: new Date(),
    })),
  );
  for (const id of ids) {
    const res = await fetch(`${p.url}/api/v1/users/${id.toHexString()}`);
    expect(res.status).toBe(200);
  }
  return ids;
}

/** Listings inserted as another service would (version 1), then read once through the API. */
async function seedCachedListings(d: Deployment, p: ApiProcess, n: number): Promise<ObjectId[]> {
  const ids = Array.from({ length: n }, () => new ObjectId());
  await d.listings.insertMany(
    ids.map((_id) => ({ _id, userId: new ObjectId(), title: "initial", price: 1, version: 1 })),
  );
  for (const id of ids) {
    const res = await fetch(`${p.url}/api/v1/listings/${id.toHexString()}`);
    expect(res.status).toBe(200);
  }
  return ids;
}

/** Every cached entry of the deployment equals MongoDB's document (or is absent). */
async function cacheEqualsDb(
  d: Deployment,
  ids: ObjectId[],
  kind: { entity: string; coll: Collection<Document>; field: string } = {
    entity: "user",
    coll: d.users,
    field: "displayName",
  },
): Promise<boolean> {
  for (const id of ids) {
    const raw = await redis.get(entryKey(d.prefix, kind.entity, id.toHexString()));
    if (!raw || raw.startsWith('{"__')) continue;
    const entry = JSON.parse(raw);
    const doc = await kind.coll.findOne({ _id: id });
    if (!doc || entry[kind.field] !== doc[kind.field] || entry.version !== doc.version)
      return false;
  }
  return true;
}

const listingsOf = (d: Deployment) => ({ entity: "listing", coll: d.listings, field: "title" });

async function burst(d: Deployment, ids: ObjectId[], from: number, to: number) {
  for (let n = from; n < to; n++) {
    const id = ids[n % ids.length] as ObjectId;
    await d.users.updateOne({ _id: id }, { $set: { displayName: `burst-${n}` } });
  }
}

describe("a durable stream position", () => {
  test("killed -9 during a burst of outside writes, restarted: every write applied by resuming, no reconcile, no money moved", async () => {
    const d = deployment();
    const first = await api(d);
    const ids = await seedCached(d, first, 10);
    const writing = burst(d, ids, 0, 300);
    await Bun.sleep(150);
    await first.kill();
    await writing;
    const second = await api(d);
    await until(() => cacheEqualsDb(d, ids), 15_000);
    // Resumed from the stored position: no reconcile was needed.
    expect(series(await second.metrics(), "cachesync_change_stream_reconciles_total")).toBe(0);
    for (const id of ids) {
      const doc = await d.users.findOne({ _id: id });
      expect(doc?.wallet).toEqual({ balance: 0, currency: "USD" });
    }
    expect(await servers.client.db(d.dbName).collection("ledger").countDocuments()).toBe(0);
    await second.kill();
  }, 60_000);

  test("history trimmed while no instance ran: the restart reconciles and the cache ends equal to MongoDB", async () => {
    if (!servers.mongo) return; // a real replica set's oplog cannot be trimmed from a test
    const d = deployment();
    const first = await api(d);
    const ids = await seedCached(d, first, 8);
    const listings = await seedCachedListings(d, first, 4);
    await first.kill();
    await burst(d, ids, 0, 40);
    // Outside a $set without a version bump, a replace keeping it, and a delete.
    await d.listings.updateOne({ _id: listings[0] }, { $set: { title: "set while down" } });
    await d.listings.replaceOne(
      { _id: listings[1] },
      { userId: new ObjectId(), title: "replaced while down", price: 2, version: 1 },
    );
    await d.listings.deleteOne({ _id: listings[2] });
    servers.mongo.engine.db(d.dbName).changes.trim(0);
    expect(await cacheEqualsDb(d, ids)).toBe(false);
    expect(await cacheEqualsDb(d, listings, listingsOf(d))).toBe(false);
    const second = await api(d);
    await until(() => cacheEqualsDb(d, ids), 15_000);
    await until(() => cacheEqualsDb(d, listings, listingsOf(d)), 15_000);
    // Checked every cached listing; repaired the three changed while no instance consumed.
    const entries = async (outcome: string) =>
      series(
        await second.metrics(),
        `cachesync_change_stream_reconciled_entries_total{collection="listings",outcome="${outcome}"}`,
      );
    await until(async () => (await entries("checked")) > 0, 15_000);
    expect(await entries("checked")).toBe(4);
    expect(await entries("repaired")).toBe(3);
    expect(await second.metrics()).toMatch(
      /cachesync_change_stream_reconciles_total\{reason="[^"]+"\} 1/,
    );
    const res = await fetch(`${second.url}/api/v1/listings/${listings[0]?.toHexString()}`);
    expect(((await res.json()) as { data: { title: string } }).data.title).toBe("set while down");
    expect(
      (await fetch(`${second.url}/api/v1/listings/${listings[2]?.toHexString()}`)).status,
    ).toBe(404);
    await second.kill();
  }, 60_000);

  test("two instances: one consumes, the other stands by and takes over within the lease when it dies", async () => {
    const d = deployment();
    const { leader, standby } = await pair(d);
    const ids = await seedCached(d, standby, 3);
    await leader.kill();
    const takeoverMs = await appliedAfter(d, ids[0] as ObjectId, "after the takeover");
    console.log(
      `change-stream takeover after kill -9: ${takeoverMs.toFixed(0)} ms (lease ${LEASE_MS} ms)`,
    );
    expect(takeoverMs).toBeLessThan(TAKEOVER_BOUND_MS);
    expect((await standby.stream())?.leader).toBe(true);
    await standby.kill();
  }, 60_000);

  test("a consumer paused past its lease (SIGSTOP) is fenced off: it wakes as standby and applies nothing more", async () => {
    const d = deployment();
    const { leader, standby } = await pair(d);
    const ids = await seedCached(d, standby, 3);
    const positions = servers.client
      .db(d.dbName)
      .collection<{ _id: string; owner?: string; fence?: number }>("cachesync_change_streams");
    const held = await positions.findOne({ _id: "cache" });
    leader.proc.kill("SIGSTOP");
    const takeoverMs = await appliedAfter(d, ids[0] as ObjectId, "while the leader was paused");
    console.log(`change-stream takeover from a paused consumer: ${takeoverMs.toFixed(0)} ms`);
    expect(takeoverMs).toBeLessThan(TAKEOVER_BOUND_MS);
    const taken = await positions.findOne({ _id: "cache" });
    expect(taken?.owner).not.toBe(held?.owner);
    leader.proc.kill("SIGCONT");
    await until(async () => (await leader.stream())?.state === "standby", 10_000);
    expect((await leader.stream())?.leader).toBe(false);
    const appliedByOld = eventsApplied(await leader.metrics());
    await appliedAfter(d, ids[1] as ObjectId, "after the paused one woke");
    await appliedAfter(d, ids[2] as ObjectId, "and again");
    // The woken one stands by: the new changes were applied by the new owner alone, and the
    // lease was not taken back (same owner, same fence).
    expect(eventsApplied(await leader.metrics())).toBe(appliedByOld);
    const after = await positions.findOne({ _id: "cache" });
    expect({ owner: after?.owner, fence: after?.fence }).toEqual({
      owner: taken?.owner,
      fence: taken?.fence,
    });
    expect((await standby.stream())?.leader).toBe(true);
    await leader.kill();
    await standby.kill();
  }, 60_000);
});

/** The lease of `bun start` (the plugin's default) and the bound on a takeover: a lease, a
 * standby's retry and room for a busy shared machine. */
const LEASE_MS = 5000;
const TAKEOVER_BOUND_MS = LEASE_MS + 4000;

/** Two instances of one deployment: exactly one holds the lease. */
async function pair(d: Deployment) {
  const a = await api(d);
  const b = await api(d);
  const states = [(await a.stream())?.leader, (await b.stream())?.leader];
  expect(states.filter(Boolean).length).toBe(1);
  const [leader, standby] = states[0] ? [a, b] : [b, a];
  return { leader, standby };
}

/** An outside $set on a cached user; resolves with the ms until the cache holds it. */
async function appliedAfter(d: Deployment, id: ObjectId, displayName: string): Promise<number> {
  const started = performance.now();
  await d.users.updateOne({ _id: id }, { $set: { displayName } });
  await until(async () => {
    const raw = await redis.get(userKey(d.prefix, id.toHexString()));
    return !!raw && JSON.parse(raw).displayName === displayName;
  }, 20_000);
  return performance.now() - started;
}

/** Change events this instance applied (every op and action). */
function eventsApplied(metricsText: string): number {
  return [...metricsText.matchAll(/^cachesync_change_stream_events_total\{.*\} (\S+)$/gm)].reduce(
    (n, m) => n + Number(m[1]),
    0,
  );
}
