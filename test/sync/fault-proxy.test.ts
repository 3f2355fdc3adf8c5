import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import Redis from "ioredis";
import { type FaultProxy, startFaultProxy } from "../support/fault-proxy";
import { type RedisHarness, startRedis } from "../support/redis-server";

let redis: RedisHarness;
let proxy: FaultProxy;
let client: Redis;

beforeAll(async () => {
  redis = await startRedis({ single: true }); // a proxy fronts one server, not a cluster
  proxy = await startFaultProxy({ upstream: { port: redis.port }, jitter: { minMs: 0, maxMs: 4 } });
  client = new Redis(proxy.url(redis.url), { maxRetriesPerRequest: 1 });
  client.on("error", () => undefined);
});
afterAll(async () => {
  client.disconnect();
  await proxy.close();
  await redis.stop();
});

const key = `${crypto.randomUUID()}:n`;

describe("fault proxy (cachesync/testing)", () => {
  test("jitter delays chunks but keeps each connection's order", async () => {
    // Unpipelined calls, each its own chunk: every reply must still come back in order.
    const replies = await Promise.all(Array.from({ length: 200 }, () => client.incr(key)));
    expect(replies).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(proxy.stats.chunks).toBeGreaterThan(0);
  });

  test("a one-way stall holds requests until resumed, and nothing is lost", async () => {
    proxy.stall("up");
    const pending = client.incr(key);
    const first = await Promise.race([pending, Bun.sleep(150).then(() => "held")]);
    expect(first).toBe("held");
    proxy.resume("up");
    expect(await pending).toBe(201);
  });

  test("a stalled reply direction: Redis executed the command, the client has not heard", async () => {
    proxy.stall("down");
    const pending = client.incr(key);
    await Bun.sleep(100);
    const direct = new Redis(redis.url);
    expect(await direct.get(key)).toBe("202"); // applied on the server already
    direct.disconnect();
    proxy.resume("down");
    expect(await pending).toBe(202);
  });

  test("cut resets every open connection; the client reconnects", async () => {
    expect(proxy.stats.open).toBeGreaterThan(0);
    expect(proxy.cut()).toBeGreaterThan(0);
    const deadline = Date.now() + 5000;
    let v: number | null = null;
    while (v === null && Date.now() < deadline) {
      v = await client.incr(key).catch(() => null);
      if (v === null) await Bun.sleep(50);
    }
    expect(v).toBeGreaterThan(202);
    expect(proxy.stats.cut).toBeGreaterThan(0);
  });

  test("refuse closes new connections as soon as they are accepted", async () => {
    proxy.refuse(true);
    const closed = await new Promise<boolean>((resolve) => {
      const s = connect({ host: proxy.host, port: proxy.port });
      s.on("error", () => undefined);
      s.on("close", () => resolve(true));
      setTimeout(() => resolve(false), 2000);
    });
    proxy.refuse(false);
    expect(closed).toBe(true);
  });
});
