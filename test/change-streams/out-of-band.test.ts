/**
 * Writes made straight to MongoDB with the official driver (no version bump, as an outside
 * script writes) reach the cache and the API through the change stream.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { defaultPlugins } from "../../app/plugins";
import { changeStreamsPlugin } from "../../plugins/cache/change-streams";
import { seedUser } from "../support/seed";
import type { TestStack } from "../support/stack";
import {
  cached,
  cacheMatchesDb,
  outsideUsers,
  type StreamServers,
  startStreamServers,
  stored,
  streamStack,
  until,
} from "./helpers";

/** The loose test bound on visibility (the bench measures the real figure). */
const VISIBLE_MS = 5000;

let servers: StreamServers;
let stack: TestStack;

beforeAll(async () => {
  servers = await startStreamServers();
  stack = await streamStack(servers);
});
afterAll(async () => {
  await stack.close();
  await servers.close();
});

const publicView = async (id: string) => {
  const res = await stack.call("GET", `/api/v1/users/${id}`);
  return { status: res.status, body: (await res.json()) as { data?: Record<string, unknown> } };
};

describe("outside writes through the API", () => {
  test("a $set without a version bump is served within the bound, and the cache equals MongoDB", async () => {
    const u = await seedUser(stack.ctx);
    expect((await publicView(u.id)).body.data?.displayName).toBe(u.displayName);
    expect((await cached(stack, u.id))?.version).toBe(u.version);
    await outsideUsers(servers, stack).updateOne(
      { _id: new ObjectId(u.id) },
      { $set: { displayName: "Set by a script" } },
    );
    await until(
      async () => (await publicView(u.id)).body.data?.displayName === "Set by a script",
      VISIBLE_MS,
    );
    // The change got a version of its own, so no entry holding the older content can win.
    expect((await stored(stack, u.id))?.version).toBe(u.version + 1);
    expect(await cacheMatchesDb(stack, u.id)).toBe(true);
  });

  test("a replace keeping the version is served within the bound", async () => {
    const u = await seedUser(stack.ctx);
    await stack.ctx.use("cacheSync").getUserWithSync(u.id);
    const users = outsideUsers(servers, stack);
    const doc = await users.findOne({ _id: new ObjectId(u.id) });
    await users.replaceOne({ _id: new ObjectId(u.id) }, { ...doc, bio: "replaced" });
    await until(async () => (await publicView(u.id)).body.data?.bio === "replaced", VISIBLE_MS);
    expect(await cacheMatchesDb(stack, u.id)).toBe(true);
  });

  test("a delete: the API answers 404 within the bound and the entry is tombstoned", async () => {
    const u = await seedUser(stack.ctx);
    expect((await publicView(u.id)).status).toBe(200);
    await outsideUsers(servers, stack).deleteOne({ _id: new ObjectId(u.id) });
    await until(async () => (await publicView(u.id)).status === 404, VISIBLE_MS);
    expect(await cached(stack, u.id)).toBeNull();
  });

  test("a change to secret fields only leaves the version and the entry alone", async () => {
    const u = await seedUser(stack.ctx);
    await stack.ctx.use("cacheSync").getUserWithSync(u.id);
    const users = outsideUsers(servers, stack);
    await users.updateOne(
      { _id: new ObjectId(u.id) },
      { $set: { refreshTokens: ["rotated-secret"] } },
    );
    // A visible change after it, to know the stream got past the first one.
    const marker = await seedUser(stack.ctx);
    await users.updateOne({ _id: new ObjectId(marker.id) }, { $set: { bio: "marker" } });
    await until(async () => (await cached(stack, marker.id))?.bio === "marker", VISIBLE_MS);
    expect((await stored(stack, u.id))?.version).toBe(u.version);
    expect((await cached(stack, u.id))?.version).toBe(u.version);
  });

  test("in-service writes are not bumped again by their own events", async () => {
    const u = await seedUser(stack.ctx);
    const svc = stack.ctx.use("cacheSync");
    const written = await svc.updateUserWithSync(u.id, { $set: { bio: "through the service" } });
    const marker = await seedUser(stack.ctx);
    await outsideUsers(servers, stack).updateOne(
      { _id: new ObjectId(marker.id) },
      { $set: { bio: "marker" } },
    );
    await until(async () => (await cached(stack, marker.id))?.bio === "marker", VISIBLE_MS);
    expect((await stored(stack, u.id))?.version).toBe(written?.version as number);
  });

  test("/ready reports the stream", async () => {
    const res = await stack.call("GET", "/ready");
    const body = (await res.json()) as { data: { changeStream: Record<string, unknown> } };
    expect(res.status).toBe(200);
    expect(body.data.changeStream).toMatchObject({ mode: "on", state: "streaming", leader: true });
  });

  test("/metrics exports the lag histogram", async () => {
    const text = await (await stack.call("GET", "/metrics")).text();
    expect(text).toContain("cachesync_change_stream_lag_seconds_bucket");
    expect(text).toMatch(
      /cachesync_change_stream_events_total\{op="update",action="bumped"\} [1-9]/,
    );
  });
});

describe("the ordering protection, switched off", () => {
  test("without it, a same-version outside change leaves the older entry served", async () => {
    const plugins = defaultPlugins().map((p) =>
      p.name === "change-streams" ? changeStreamsPlugin({ unsafeWithoutOrdering: true }) : p,
    );
    const naive = await streamStack(servers, { plugins });
    try {
      const u = await seedUser(naive.ctx);
      await naive.ctx.use("cacheSync").getUserWithSync(u.id);
      const users = servers.client.db(naive.dbName).collection("users");
      await users.updateOne({ _id: new ObjectId(u.id) }, { $set: { displayName: "lost" } });
      const marker = await seedUser(naive.ctx);
      await users.updateOne({ _id: new ObjectId(marker.id) }, { $set: { bio: "marker" } });
      // The marker after it was applied (as a plain refresh), so the first event was too.
      await until(async () => (await cached(naive, marker.id)) !== null, VISIBLE_MS);
      await Bun.sleep(200);
      expect((await cached(naive, u.id))?.displayName).toBe(u.displayName);
      expect(await cacheMatchesDb(naive, u.id)).toBe(false);
    } finally {
      await naive.close();
    }
  });
});
