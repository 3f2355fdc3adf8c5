import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MemoryEventBus } from "../../src/adapters/memory/memory-event-bus";
import { RedisEventBus } from "../../src/adapters/redis/redis-event-bus";
import { StoreUnavailableError } from "../../src/core/errors";
import type { BusMessage } from "../../src/core/ports/event-bus";
import { ownsRedis, type RedisHarness, startRedis } from "../support/redis-server";
import { eventBusContract, waitFor } from "./event-bus.contract";

const TIMEOUT_MS = 150;
const MAX_LEN = 20;
/** Redis' default stream-node-max-entries: `MAXLEN ~` trims whole nodes only. */
const REDIS_NODE_ENTRIES = 100;

eventBusContract("memory", async () => {
  const bus = new MemoryEventBus({ maxLen: MAX_LEN });
  return { bus, maxLen: MAX_LEN, windowSlack: 0, prefix: "t:", teardown: () => bus.close() };
});

eventBusContract("redis", async () => {
  const redis = await startRedis();
  const bus = new RedisEventBus({ ...redis.adapter, timeoutMs: TIMEOUT_MS, streamMaxLen: MAX_LEN });
  return {
    bus,
    maxLen: MAX_LEN,
    windowSlack: REDIS_NODE_ENTRIES,
    prefix: redis.prefix,
    teardown: async () => {
      await bus.close();
      await redis.stop();
    },
  };
});

describe("RedisEventBus: two API instances on one Redis", () => {
  let redis: RedisHarness;
  let a: RedisEventBus;
  let b: RedisEventBus;
  beforeAll(async () => {
    redis = await startRedis();
    const opts = { ...redis.adapter, timeoutMs: TIMEOUT_MS, streamMaxLen: MAX_LEN };
    a = new RedisEventBus(opts);
    b = new RedisEventBus(opts);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await redis.stop();
  });

  test("a publish on A reaches subscribers on A and on B, and B can replay it", async () => {
    const t = `${redis.prefix}cross`;
    const onA: BusMessage[] = [];
    const onB: BusMessage[] = [];
    const unA = await a.subscribe(t, (m) => onA.push(m));
    const unB = await b.subscribe(t, (m) => onB.push(m));
    const id = await a.publish(t, "from A");
    await waitFor(() => onA.length === 1 && onB.length === 1);
    expect(onB[0]).toEqual({ id, payload: "from A" });
    expect(onA[0]).toEqual(onB[0]);
    expect(await b.since(t, "0-0", 10)).toEqual([{ id, payload: "from A" }]);
    await unA();
    await unB();
  });

  test("publishes from both instances arrive everywhere in one order, ids increasing", async () => {
    const t = `${redis.prefix}interleaved`;
    const onA: string[] = [];
    const onB: string[] = [];
    const unA = await a.subscribe(t, (m) => onA.push(m.id));
    const unB = await b.subscribe(t, (m) => onB.push(m.id));
    await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).publish(t, String(i))));
    await waitFor(() => onA.length === 100 && onB.length === 100);
    expect(onA).toEqual(onB);
    expect(onA).toEqual((await a.since(t, "0-0", 100)).map((m) => m.id));
    await unA();
    await unB();
  });
});

describe("RedisEventBus: Redis unreachable", () => {
  test("publish, subscribe and since reject with StoreUnavailableError, fast", async () => {
    const redis = await startRedis();
    const url = redis.owned ? redis.url : "redis://127.0.0.1:1";
    await redis.stop();
    const bus = new RedisEventBus({ url, timeoutMs: TIMEOUT_MS, streamMaxLen: MAX_LEN });
    try {
      let started = performance.now();
      const published = await bus.publish("t", "x").catch((e: unknown) => e);
      expect(published).toBeInstanceOf(StoreUnavailableError);
      expect(performance.now() - started).toBeLessThan(1_000);
      started = performance.now();
      const subscribed = await bus.subscribe("t", () => {}).catch((e: unknown) => e);
      expect(subscribed).toBeInstanceOf(StoreUnavailableError);
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(await bus.since("t", "0-0", 10).catch((e: unknown) => e)).toBeInstanceOf(
        StoreUnavailableError,
      );
    } finally {
      await bus.close();
    }
  });
});

describe("RedisEventBus: faults on an owned redis-server", () => {
  let redis: RedisHarness | undefined;
  let publisher: RedisEventBus;
  let listener: RedisEventBus;
  beforeAll(async () => {
    if (!ownsRedis) return;
    redis = await startRedis();
    const opts = { ...redis.adapter, timeoutMs: TIMEOUT_MS, streamMaxLen: MAX_LEN };
    publisher = new RedisEventBus(opts);
    listener = new RedisEventBus(opts);
  });
  afterAll(async () => {
    await publisher?.close();
    await listener?.close();
    await redis?.stop();
  });

  test.if(ownsRedis)(
    "a subscription survives a Redis crash and restart (resubscribed automatically)",
    async () => {
      const t = `${redis!.prefix}restart`;
      const got: string[] = [];
      const unsubscribe = await listener.subscribe(t, (m) => got.push(m.payload));
      await publisher.publish(t, "before");
      await waitFor(() => got.length === 1);

      await redis!.kill();
      const down = await publisher.publish(t, "lost").catch((e: unknown) => e);
      expect(down).toBeInstanceOf(StoreUnavailableError);
      await Bun.sleep(500);
      await redis!.restart();

      const started = performance.now();
      // Publishing before the listener has resubscribed loses the message (pub/sub has no
      // backlog; `since` is the replay path), so keep publishing until one arrives.
      let i = 0;
      while (!got.some((p) => p.startsWith("after"))) {
        if (performance.now() - started > 5_000)
          throw new Error("listener never got a message after the restart");
        await publisher.publish(t, `after-${i++}`).catch(() => {});
        await Bun.sleep(50);
      }
      console.log(
        `restarted redis: subscription delivering again after ${(performance.now() - started).toFixed(0)} ms`,
      );
      expect(got[0]).toBe("before");
      expect(got).not.toContain("lost");
      await unsubscribe();
    },
  );
});
