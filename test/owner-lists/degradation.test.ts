import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { defaultPlugins } from "../../app/plugins";
import { listKey } from "../../plugins/cache/cache-sync/lists";
import { ownsRedis } from "../support/redis-server";
import { createTestStack, type TestStack } from "../support/stack";
import { waitConverged } from "../support/stale-checker";
import { callJson, type RegisteredUser, registerUser } from "../support/users";
import { listProbe } from "./helpers";

const probe = listProbe();
let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack({
    plugins: [...defaultPlugins(), ...probe.plugins],
    env: { REDIS_TIMEOUT_MS: 150, BREAKER_COOLDOWN_MS: 300 },
  });
});
afterAll(() => stack.close());

const timedMe = async (u: RegisteredUser) => {
  const t = performance.now();
  const r = await callJson(stack, "GET", "/api/v1/users/me", { token: u.token });
  return {
    ms: performance.now() - t,
    status: r.status,
    titles: (r.body.data?.listings ?? []).map((l: { title: string }) => l.title) as string[],
  };
};

describe("list cache with Redis paused", () => {
  test.if(ownsRedis)(
    "reads answer from MongoDB within 1 s; a missed invalidation is repaired before Redis is read again",
    async () => {
      const a = await registerUser(stack);
      await stack.stores.db
        .collection("listings")
        .insertOne({ userId: new ObjectId(a.user.id), title: "before", createdAt: new Date(1000) });
      expect((await timedMe(a)).titles).toEqual(["before"]);
      probe.reset();
      expect((await timedMe(a)).titles).toEqual(["before"]);
      expect(probe.fills()).toBe(0); // both lists cached before the outage
      const key = listKey(stack.config.CACHE_PREFIX, "listings", a.user.id);

      stack.redis?.pause();
      try {
        const read = await timedMe(a);
        expect(read.status).toBe(200);
        expect(read.ms).toBeLessThan(1000);
        expect(read.titles).toEqual(["before"]);

        // The write succeeds; its invalidation cannot reach Redis, so it is owed durably.
        await stack.ctx.repo.collection("listings").insertOne({
          userId: new ObjectId(a.user.id),
          title: "during",
          createdAt: new Date(2000),
        });
        expect(await stack.ctx.stores.db.collection("cache_repairs").countDocuments({ key })).toBe(
          1,
        );

        const after = await timedMe(a);
        expect(after.status).toBe(200);
        expect(after.ms).toBeLessThan(1000);
        expect(after.titles).toEqual(["during", "before"]);
      } finally {
        stack.redis?.resume();
      }

      // The pre-outage entry (["before"]'s id) is still in Redis; the probe empties it before the
      // breaker closes, so it is never served again.
      const engine = stack.ctx.use("cacheEngine");
      await waitConverged(
        async () =>
          engine.breaker.current === "closed" &&
          (await stack.ctx.stores.db.collection("cache_repairs").countDocuments({})) === 0,
        3000,
      );
      expect((await timedMe(a)).titles).toEqual(["during", "before"]);
    },
  );
});
