import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { testOwning } from "../support/mongo-ownership";
import { ownsRedis } from "../support/redis-server";
import { createTestStack, type TestStack } from "../support/stack";

describe("GET /ready", () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await createTestStack();
  });
  afterAll(() => stack?.close());

  test("200 with both stores up", async () => {
    const res = await stack.call("GET", "/ready");
    expect(res.status).toBe(200);
    // toMatchObject: plugins may report more (the change stream, plugins/cache/change-streams).
    expect(await res.json()).toMatchObject({ success: true, data: { mongo: "up", redis: "up" } });
  });

  test.if(ownsRedis)(
    "503 naming Redis while it is down, within its timeout; 200 again after a restart",
    async () => {
      await stack.redis?.kill();
      try {
        const started = performance.now();
        const res = await stack.call("GET", "/ready");
        expect(performance.now() - started).toBeLessThan(stack.config.REDIS_TIMEOUT_MS + 500);
        expect(res.status).toBe(503);
        const body = await res.json();
        expect(body.success).toBe(false);
        expect(body.error.code).toBe("NOT_READY");
        expect(body.error.details).toMatchObject({ mongo: "up", redis: "down" });
      } finally {
        await stack.redis?.restart();
      }
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        status = (await stack.call("GET", "/ready")).status;
        if (status !== 200) await Bun.sleep(50);
      }
      expect(status).toBe(200);
    },
  );

  testOwning({ mongo: true })("503 naming MongoDB while the wire server is stopped", async () => {
    const mongo = stack.mongo as NonNullable<TestStack["mongo"]>;
    await mongo.stop();
    try {
      const res = await stack.call("GET", "/ready");
      expect(res.status).toBe(503);
      expect((await res.json()).error.details).toMatchObject({ mongo: "down" });
    } finally {
      await mongo.restart();
    }
  });
});
