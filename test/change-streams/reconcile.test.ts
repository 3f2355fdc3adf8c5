/**
 * The full reconcile, in process: on a first start (no stored position) and after a stored
 * position that cannot be resumed from (an unusable token, a fatal stream error), the cached
 * entries of every declared collection end equal to MongoDB; each run is logged and counted, and
 * runs are at least `reconcileIntervalMs` apart however often the position is lost.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { defaultPlugins } from "../../app/plugins";
import { changeStreamsPlugin, POSITION_COLLECTION } from "../../plugins/cache/change-streams";
import { appWithLogs, type LoggedApp } from "../onboarding/log-capture";
import { seedListing } from "../support/seed";
import { type StreamServers, startStreamServers, until } from "./helpers";

const INTERVAL_MS = 4000;
const WARN = 40;

let servers: StreamServers;
beforeAll(async () => {
  servers = await startStreamServers();
});
afterAll(() => servers.close());

interface Deployment {
  env: Record<string, string | number>;
  dbName: string;
}

function deployment(): Deployment {
  const tag = Math.random().toString(36).slice(2, 8);
  const dbName = `cs_reconcile_${tag}`;
  return {
    dbName,
    env: {
      MONGO_URL: servers.url,
      MONGO_DB: dbName,
      CACHE_PREFIX: `c${tag}:`,
      MONGO_TIMEOUT_MS: 1000,
      ...servers.redis.env,
    },
  };
}

const streaming = (reconcileIntervalMs = INTERVAL_MS) =>
  defaultPlugins().map((p) =>
    p.name === "change-streams" ? changeStreamsPlugin({ reconcileIntervalMs }) : p,
  );

async function start(d: Deployment, on: boolean): Promise<LoggedApp> {
  const app = await appWithLogs(
    { ...d.env, CHANGE_STREAMS: on ? "on" : "off" },
    on ? streaming() : defaultPlugins(),
  );
  await app.ready();
  if (on) await until(() => app.ctx.use("changeStreams").report().state === "streaming", 10_000);
  return app;
}

/** Two listings cached while no stream ran, then changed straight in MongoDB (no version bump). */
async function staleListings(d: Deployment): Promise<string[]> {
  const app = await start(d, false);
  const ids: string[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const l = await seedListing(app.ctx);
      expect((await app.ctx.use("cache").listings.get(l.id))?.title).toBe(l.title);
      ids.push(l.id);
    }
  } finally {
    await app.close();
  }
  const listings = servers.client.db(d.dbName).collection("listings");
  await listings.updateOne({ _id: new ObjectId(ids[0]) }, { $set: { title: "outside" } });
  await listings.deleteOne({ _id: new ObjectId(ids[1]) });
  return ids;
}

/** The listings' cache entries as the API would serve them now, straight from Redis. */
async function cachedTitles(app: LoggedApp, ids: string[]) {
  const engine = app.ctx.use("cache").listings.engine;
  return Promise.all(ids.map(async (id) => (await engine.getCached(id))?.title ?? null));
}

const reconciled = (app: LoggedApp) =>
  app.logs.filter((l) => l.msg.startsWith("reconciled every cached entry"));
const lost = (app: LoggedApp) =>
  app.logs.filter((l) => l.msg.startsWith("change stream position lost"));

describe("reconcile of every declared collection", () => {
  test("a first start (no stored position): stale listing entries are repaired, logged, counted", async () => {
    const d = deployment();
    const ids = await staleListings(d);
    const app = await start(d, true);
    try {
      await until(() => reconciled(app).length === 1, 10_000);
      expect(await cachedTitles(app, ids)).toEqual(["outside", null]);
      const [log] = reconciled(app);
      expect(log?.level).toBe(WARN);
      expect(log?.reason).toBe("no stored position");
      expect(log?.collections).toMatchObject({ listings: { checked: 2, fixed: 2 } });
      const text = await app.ctx.metrics.registry.metrics();
      expect(text).toContain(
        'cachesync_change_stream_reconciled_entries_total{collection="listings",outcome="repaired"} 2',
      );
    } finally {
      await app.close();
    }
  }, 30_000);

  test("a stored token MongoDB cannot resume from: reconciled, logged, counted; a second loss waits for the interval", async () => {
    const d = deployment();
    const ids = await staleListings(d);
    await servers.client
      .db(d.dbName)
      .collection<{ _id: string; token?: unknown }>(POSITION_COLLECTION)
      .insertOne({ _id: "cache", token: { _data: "not-a-token" } });
    const app = await start(d, true);
    try {
      await until(() => reconciled(app).length === 1, 10_000);
      expect(await cachedTitles(app, ids)).toEqual(["outside", null]);
      expect(lost(app)).toHaveLength(1);
      expect(lost(app)[0]?.level).toBe(WARN);
      expect(reconciled(app)[0]?.reason).not.toBe("no stored position");
      // The position is usable again: the stream saved its own over the bad one.
      const stored = await servers.client
        .db(d.dbName)
        .collection<{ _id: string; token?: unknown }>(POSITION_COLLECTION)
        .findOne({ _id: "cache" });
      expect(stored?.token).not.toEqual({ _data: "not-a-token" });

      // A second loss right away (a fatal stream error): the reconcile waits for its turn.
      await servers.client.db("admin").command({
        configureFailPoint: "failCommand",
        mode: { times: 1 },
        data: { failCommands: ["getMore"], errorCode: 280 },
      });
      await until(() => lost(app).length === 2, 10_000);
      await until(() => reconciled(app).length === 2, INTERVAL_MS + 10_000);
      const [first, second] = reconciled(app).map((l) => Date.parse(String(l.startedAt)));
      const secondLostAt = Number(lost(app)[1]?.time);
      // The second loss was reported inside the interval, so only the pacing held it back.
      expect(secondLostAt).toBeLessThan((first as number) + INTERVAL_MS);
      expect((second as number) - (first as number)).toBeGreaterThanOrEqual(INTERVAL_MS);
      const text = await app.ctx.metrics.registry.metrics();
      const runs = [...text.matchAll(/^cachesync_change_stream_reconciles_total\{.*\} (\d+)$/gm)];
      expect(runs.reduce((n, m) => n + Number(m[1]), 0)).toBe(2);
    } finally {
      await app.close();
    }
  }, 40_000);
});
