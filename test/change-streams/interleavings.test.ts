/**
 * Outside writes racing the service's own fills and writes, with the bad orders forced on
 * purpose: the cache always ends equal to MongoDB, and no read made after the lag bound returns
 * an outside change older than one already committed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { defaultPlugins } from "../../app/plugins";
import { changeStreamsPlugin } from "../../plugins/cache/change-streams";
import { seedUser } from "../support/seed";
import type { TestStack } from "../support/stack";
import { runStaleCheck, serviceInstance } from "../support/stale-checker";
import { storeProbe } from "../support/store-probe";
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

/** The lag bound the stale check grants the stream (loose: a busy shared machine). */
const LAG_MS = 2000;

let servers: StreamServers;
let stack: TestStack;
const probe = storeProbe(["users"], "interleaving-probe");

beforeAll(async () => {
  servers = await startStreamServers();
  stack = await streamStack(servers, { plugins: [...defaultPlugins(), probe.plugin] });
});
afterAll(async () => {
  await stack.close();
  await servers.close();
});

const oid = (id: string) => new ObjectId(id);

describe("forced interleavings with writes made outside the service", () => {
  test("a fill that read the content before an outside $set (same version) cannot land after it", async () => {
    const u = await seedUser(stack.ctx);
    const svc = stack.ctx.use("cacheSync");
    await svc.invalidateUserCache(u.id);
    const held = probe.hold((_c, op) => op === "findOne");
    const read = svc.getUserWithSync(u.id); // reads the old content from MongoDB, then waits
    await held.reached;
    await outsideUsers(servers, stack).updateOne(
      { _id: oid(u.id) },
      { $set: { displayName: "outside" } },
    );
    // The stream applies it while the fill is held: the change now has a version of its own.
    await until(async () => (await cached(stack, u.id))?.displayName === "outside");
    held.release();
    expect((await read)?.version).toBeGreaterThanOrEqual(u.version);
    expect((await cached(stack, u.id))?.displayName).toBe("outside");
    expect(await cacheMatchesDb(stack, u.id)).toBe(true);
  });

  test("an in-service write-through held back while an outside change is applied: the newer one stays", async () => {
    const u = await seedUser(stack.ctx);
    const svc = stack.ctx.use("cacheSync");
    const held = probe.hold((_c, op) => op === "findOneAndUpdate");
    const write = svc.updateUserWithSync(u.id, { $set: { bio: "in service" } }); // v+1, not yet cached
    await held.reached;
    await outsideUsers(servers, stack).updateOne(
      { _id: oid(u.id) },
      { $set: { displayName: "outside" } },
    );
    await until(async () => (await cached(stack, u.id))?.displayName === "outside");
    held.release();
    await write;
    const entry = await cached(stack, u.id);
    expect(entry).toMatchObject({ bio: "in service", displayName: "outside" });
    expect(entry?.version).toBe((await stored(stack, u.id))?.version);
    expect(await cacheMatchesDb(stack, u.id)).toBe(true);
  });

  test("an outside change while the entry is evicted, then a fill: the fill carries it", async () => {
    const u = await seedUser(stack.ctx);
    const svc = stack.ctx.use("cacheSync");
    await svc.getUserWithSync(u.id);
    await stack.stores.cache.del([`${stack.config.CACHE_PREFIX}user:${u.id}`]);
    await outsideUsers(servers, stack).updateOne({ _id: oid(u.id) }, { $set: { bio: "evicted" } });
    expect((await svc.getUserWithSync(u.id))?.bio).toBe("evicted");
    await until(() => cacheMatchesDb(stack, u.id));
  });
});

/**
 * Outside writes (a per-user counter in displayName, no version bump) with readers, and with
 * `service` the stale checker's own writers, fills and invalidations on the same users (they only
 * touch bio). A read is late when it started more than LAG_MS after an outside write committed
 * and returns an older counter.
 */
async function outsideLoad(target: TestStack, service: boolean) {
  const users = await Promise.all(Array.from({ length: 6 }, () => seedUser(target.ctx)));
  const ids = users.map((u) => u.id);
  const svc = target.ctx.use("cacheSync");
  for (const id of ids) await svc.getUserWithSync(id);
  const outside = servers.client.db(target.dbName).collection("users");
  const committed = new Map<string, { n: number; at: number }[]>();
  const reads: { id: string; start: number; n: number }[] = [];
  const seqOf = (name: unknown) => Number(/^oob-(\d+)$/.exec(String(name))?.[1] ?? 0);
  let running = true;
  const outsideWriter = async () => {
    let n = 0;
    while (running) {
      n++;
      for (const id of ids) {
        await outside.updateOne({ _id: oid(id) }, { $set: { displayName: `oob-${n}` } });
        committed.set(id, [...(committed.get(id) ?? []), { n, at: performance.now() }]);
      }
      await Bun.sleep(5);
    }
  };
  const reader = async () => {
    while (running) {
      const id = ids[Math.floor(Math.random() * ids.length)] as string;
      const start = performance.now();
      const u = await svc.getUserWithSync(id).catch(() => null);
      if (u) reads.push({ id, start, n: seqOf(u.displayName) });
      await Bun.sleep(1);
    }
  };
  const loops = [outsideWriter(), reader(), reader()];
  const inService = service
    ? await runStaleCheck({
        instances: [serviceInstance("service", svc)],
        userIds: ids,
        durationMs: 4000,
        writers: 2,
        invalidateEveryMs: 20,
      })
    : await Bun.sleep(LAG_MS + 2000).then(() => null);
  running = false;
  await Promise.all(loops);
  let late = 0;
  for (const r of reads) {
    const newest = (committed.get(r.id) ?? []).filter((c) => c.at + LAG_MS < r.start).at(-1);
    if (newest && r.n < newest.n) late++;
  }
  return { ids, reads: reads.length, late, inService };
}

describe("under load", () => {
  test("outside writes racing service writes, fills and invalidations: 0 stale reads after the lag bound, cache = MongoDB", async () => {
    const { ids, reads, late, inService } = await outsideLoad(stack, true);
    // The service's own guarantee holds with the stream bumping versions underneath it.
    expect(inService?.stale).toBe(0);
    expect(inService?.writes).toBeGreaterThan(10);
    expect(reads).toBeGreaterThan(10);
    expect(late).toBe(0);
    for (const id of ids) await until(() => cacheMatchesDb(stack, id), LAG_MS * 2);
  }, 30_000);

  test("the same check fails with the ordering protection switched off", async () => {
    const plugins = [
      ...defaultPlugins().map((p) =>
        p.name === "change-streams" ? changeStreamsPlugin({ unsafeWithoutOrdering: true }) : p,
      ),
    ];
    const naive = await streamStack(servers, { plugins });
    try {
      const { late, reads } = await outsideLoad(naive, false);
      expect(reads).toBeGreaterThan(10);
      expect(late).toBeGreaterThan(0);
    } finally {
      await naive.close();
    }
  }, 30_000);
});
