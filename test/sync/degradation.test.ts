import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { defaultPlugins } from "../../app/plugins";
import type { CacheSyncService } from "../../plugins/cache/cache-sync";
import { STALE_HEADER, userKey } from "../../plugins/cache/cache-sync";
import { createRouter } from "../../src/core/app";
import { notFound } from "../../src/core/errors";
import type { Plugin } from "../../src/core/plugin";
import { testOwning } from "../support/mongo-ownership";
import { ownsRedis } from "../support/redis-server";
import { seedUser } from "../support/seed";
import { createTestStack, type TestStack } from "../support/stack";
import { waitConverged } from "../support/stale-checker";

/** A bare route over the service, so the stale header is observed as a client sees it. */
const probeRoute: Plugin = {
  name: "test-route",
  routes(ctx) {
    const r = createRouter();
    r.get("/t/users/:id", async (c) => {
      const u = await ctx.use("cacheSync").getUserWithSync(c.req.param("id"));
      if (!u) throw notFound();
      return c.json({ success: true, data: u });
    });
    r.patch("/t/users/:id", async (c) => {
      const u = await ctx
        .use("cacheSync")
        .updateUserWithSync(c.req.param("id"), { $set: { bio: "x" } });
      return c.json({ success: true, data: u });
    });
    return r;
  },
};

let stack: TestStack;
let svc: CacheSyncService;

beforeAll(async () => {
  stack = await createTestStack({
    plugins: [...defaultPlugins(), probeRoute],
    env: { REDIS_TIMEOUT_MS: 150, BREAKER_COOLDOWN_MS: 300, MONGO_TIMEOUT_MS: 400 },
  });
  svc = stack.ctx.use("cacheSync");
});
afterAll(() => stack.close());

const cached = async (id: string) => {
  const raw = await stack.stores.cache.get(userKey(stack.config.CACHE_PREFIX, id));
  return raw ? JSON.parse(raw) : null;
};
const dbVersion = async (id: string) =>
  (
    (await stack.ctx.stores.db
      .collection("users")
      .findOne({ _id: new ObjectId(id) })) as unknown as {
      version: number;
    }
  ).version;
const converged = (ids: string[]) => async () => {
  for (const id of ids) {
    const c = await cached(id);
    if (c && c.version !== (await dbVersion(id))) return false;
  }
  return true;
};

describe("Redis down or paused", () => {
  test.if(ownsRedis)(
    "paused (SIGSTOP): reads answer from MongoDB in under 1 s, writes succeed, stale entries are repaired on return",
    async () => {
      const u = await seedUser(stack.ctx);
      await svc.getUserWithSync(u.id); // v1 cached
      await stack.redis?.pause();
      try {
        let t = performance.now();
        const read = await svc.getUserWithSync(u.id);
        expect(performance.now() - t).toBeLessThan(1000);
        expect(read?.id).toBe(u.id);
        const written = await svc.updateUserWithSync(u.id, { $set: { bio: "during pause" } });
        expect(written?.version).toBe(u.version + 1);
        t = performance.now();
        const after = await svc.getUserWithSync(u.id);
        expect(performance.now() - t).toBeLessThan(1000);
        expect(after?.bio).toBe("during pause");
        expect(
          await stack.ctx.stores.db.collection("cache_repairs").countDocuments({ userId: u.id }),
        ).toBe(1);
      } finally {
        await stack.redis?.resume();
      }
      const repaired = async () =>
        (await stack.ctx.stores.db.collection("cache_repairs").countDocuments({})) === 0 &&
        (await converged([u.id])());
      const ms = await waitConverged(repaired, 2000);
      expect((await svc.getUserWithSync(u.id))?.bio).toBe("during pause");
      console.log(`[degradation] paused Redis: converged ${Math.round(ms)} ms after resume`);
    },
  );

  test.if(ownsRedis)(
    "killed: the API keeps working on MongoDB and recovers when Redis restarts",
    async () => {
      const u = await seedUser(stack.ctx);
      await stack.redis?.kill();
      try {
        const t = performance.now();
        expect((await svc.getUserWithSync(u.id))?.id).toBe(u.id);
        expect((await svc.updateUserWithSync(u.id, { $set: { bio: "during outage" } }))?.bio).toBe(
          "during outage",
        );
        expect(performance.now() - t).toBeLessThan(2000);
      } finally {
        await stack.redis?.restart();
      }
      await waitConverged(
        async () => stack.ctx.use("cacheEngine").breaker.current === "closed",
        5000,
      );
      expect((await svc.getUserWithSync(u.id))?.bio).toBe("during outage");
      expect((await cached(u.id))?.bio).toBe("during outage");
    },
  );
});

describe("MongoDB down", () => {
  testOwning({ mongo: true })(
    "cached reads are served and marked stale; writes answer 503 and change nothing; uncached reads 503",
    async () => {
      const cachedUser = await seedUser(stack.ctx);
      const coldUser = await seedUser(stack.ctx);
      await svc.getUserWithSync(cachedUser.id);
      await svc.invalidateUserCache(coldUser.id);
      await stack.mongo?.stop();
      try {
        const hit = await stack.call("GET", `/api/v1/t/users/${cachedUser.id}`);
        expect(hit.status).toBe(200);
        // The header needs MongoDB seen down once; the write below is what notices it here.
        const write = await stack.call("PATCH", `/api/v1/t/users/${cachedUser.id}`);
        expect(write.status).toBe(503);
        expect(await write.json()).toMatchObject({
          success: false,
          error: { code: "STORE_UNAVAILABLE" },
        });
        const stale = await stack.call("GET", `/api/v1/t/users/${cachedUser.id}`);
        expect(stale.status).toBe(200);
        expect(stale.headers.get(STALE_HEADER)).toBe("1");
        const cold = await stack.call("GET", `/api/v1/t/users/${coldUser.id}`);
        expect(cold.status).toBe(503);
      } finally {
        await stack.mongo?.restart();
      }
      expect((await cached(cachedUser.id))?.version).toBe(cachedUser.version);
      expect(await dbVersion(cachedUser.id)).toBe(cachedUser.version);
    },
  );

  testOwning({ mongo: true, redis: true })("both down: a clear 503, quickly", async () => {
    const u = await seedUser(stack.ctx);
    await stack.mongo?.stop();
    await stack.redis?.kill();
    try {
      const t = performance.now();
      const res = await stack.call("GET", `/api/v1/t/users/${u.id}`);
      expect(res.status).toBe(503);
      expect(performance.now() - t).toBeLessThan(2000);
    } finally {
      await stack.mongo?.restart();
      await stack.redis?.restart();
    }
    await waitConverged(
      async () =>
        stack.ctx.use("cacheEngine").breaker.current === "closed" ||
        (await svc.getUserWithSync(u.id)) === undefined,
      5000,
    ).catch(() => 0);
  });
});
