import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { type FaultProxy, startFaultProxy } from "../support/fault-proxy";
import { type RedisHarness, startRedis } from "../support/redis-server";

let redis: RedisHarness;
let proxy: FaultProxy;
let direct: Redis;
let client: Redis;

beforeAll(async () => {
  redis = await startRedis({ single: true }); // a proxy fronts one server, not a cluster
  proxy = await startFaultProxy({ upstream: { port: redis.port } });
  direct = new Redis(redis.url);
  // No resend on reconnect: a timed-out command must stay unapplied for these assertions.
  client = new Redis(proxy.url(redis.url), {
    maxRetriesPerRequest: 1,
    commandTimeout: 300,
    autoResendUnfulfilledCommands: false,
  });
  client.on("error", () => undefined);
});
afterAll(async () => {
  client.disconnect();
  direct.disconnect();
  await proxy.close();
  await redis.stop();
});

describe("fault proxy partitions (cachesync/testing)", () => {
  test("partition('up'): the request vanishes, the server never sees it; heal resets and the client reconnects", async () => {
    const key = `${crypto.randomUUID()}:up`;
    await client.set(key, "0");
    proxy.partition("up");
    await expect(client.incr(key)).rejects.toThrow();
    expect(await direct.get(key)).toBe("0");
    expect(proxy.stats.dropped).toBeGreaterThan(0);
    expect(proxy.heal()).toBeGreaterThan(0);
    await Bun.sleep(100);
    expect(await client.incr(key)).toBe(1);
  });

  test("partition('down'): the server applies the request, its reply never arrives", async () => {
    const key = `${crypto.randomUUID()}:down`;
    await client.set(key, "0");
    proxy.partition("down");
    await expect(client.incr(key)).rejects.toThrow();
    // Applied but unacknowledged: the indeterminate outcome a history checker must allow for.
    expect(await direct.get(key)).toBe("1");
    proxy.heal();
    await Bun.sleep(100);
    expect(await client.incr(key)).toBe(2);
  });
});
