import { afterAll, beforeAll, expect } from "bun:test";
import { defaultPlugins } from "../../app/plugins";
import { STALE_HEADER } from "../../plugins/cache/cache-sync";
import { createRouter } from "../../src/core/app";
import type { Plugin } from "../../src/core/plugin";
import { createTestStack, seedUser, type TestStack, testOwning } from "../support";

/** A bare read through the service, so the header is seen as a client sees it. */
const readRoute: Plugin = {
  name: "test-read",
  routes: (ctx) =>
    createRouter().get("/t/users/:id", async (c) =>
      c.json({ user: await ctx.use("cacheSync").getUserWithSync(c.req.param("id")) }),
    ),
};

let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack({ plugins: [...defaultPlugins(), readRoute] });
});
afterAll(() => stack.close());

async function until(check: () => Promise<boolean>, ms: number, what: string) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await Bun.sleep(50);
  }
}

const readStale = async (id: string) => {
  const res = await stack.call("GET", `/api/v1/t/users/${id}`);
  expect(res.status).toBe(200);
  return res.headers.get(STALE_HEADER);
};

testOwning({ mongo: true })(
  "once /ready reports MongoDB down, the next cached read is marked stale — no failed call needed",
  async () => {
    const user = await seedUser(stack.ctx);
    expect(await readStale(user.id)).toBeNull(); // fills the cache
    await stack.mongo?.stop();
    try {
      expect((await stack.call("GET", "/ready")).status).toBe(503);
      expect(await readStale(user.id)).toBe("1");
    } finally {
      await stack.mongo?.restart();
    }
    await until(async () => (await stack.call("GET", "/ready")).status === 200, 10_000, "ready");
    expect(await readStale(user.id)).toBeNull();
  },
  30_000,
);

testOwning({ mongo: true })(
  "with nobody calling /ready, the heartbeat marks cached reads stale within seconds, then unmarks",
  async () => {
    const user = await seedUser(stack.ctx);
    await readStale(user.id);
    await stack.mongo?.stop();
    try {
      await until(async () => (await readStale(user.id)) === "1", 5000, "stale mark");
    } finally {
      await stack.mongo?.restart();
    }
    await until(async () => (await readStale(user.id)) === null, 10_000, "stale mark cleared");
  },
  30_000,
);
