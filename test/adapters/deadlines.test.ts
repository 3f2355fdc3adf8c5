import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Deadlined, DeadlineQueue } from "../../src/adapters/redis/deadlines";
import { RedisCacheStore } from "../../src/adapters/redis/redis-cache-store";
import { StoreUnavailableError } from "../../src/core/errors";
import { ownsRedis, type RedisHarness, startRedis } from "../support/redis-server";

class FakeCommand implements Deadlined {
  isSettled = false;
  error: Error | null = null;
  reject(err: Error): void {
    this.error = err;
    this.isSettled = true;
  }
  settle(): void {
    this.isSettled = true;
  }
}

/** Real timers, a fake clock: which command is rejected depends on the clock alone. */
describe("DeadlineQueue", () => {
  test("each command is rejected at its own deadline, not at a shared tick", async () => {
    let now = 0;
    const q = new DeadlineQueue(20, () => now);
    const a = new FakeCommand();
    const b = new FakeCommand();
    const c = new FakeCommand();
    q.push(a); // deadline 20
    now = 5;
    q.push(b); // 25
    now = 15;
    q.push(c); // 35
    now = 21;
    await Bun.sleep(60);
    expect(a.error?.message).toBe("Command timed out");
    expect(b.isSettled).toBe(false);
    b.settle();
    now = 34;
    await Bun.sleep(60);
    expect(c.isSettled).toBe(false);
    now = 35;
    await Bun.sleep(60);
    expect(c.error?.message).toBe("Command timed out");
    expect(q.size).toBe(0);
    q.stop();
  });

  test("a command whose clock started earlier (queued in an auto-pipeline) keeps its deadline", async () => {
    let now = 0;
    const q = new DeadlineQueue(20, () => now);
    const direct = new FakeCommand();
    const queued = new FakeCommand();
    q.push(direct); // deadline 20
    now = 10;
    q.push(queued, 1); // issued at 1: deadline 21, not 30
    now = 21;
    await Bun.sleep(60);
    expect(direct.error?.message).toBe("Command timed out");
    expect(queued.error?.message).toBe("Command timed out");
    q.stop();
  });

  test("settled commands leave the head as new ones arrive (no growth while replies come)", () => {
    let now = 0;
    const q = new DeadlineQueue(1000, () => now);
    for (let i = 0; i < 10_000; i++) {
      const cmd = new FakeCommand();
      q.push(cmd);
      cmd.settle();
      now += 0.01;
    }
    expect(q.size).toBe(1);
    q.stop();
  });
});

describe.skipIf(!ownsRedis)("command deadlines on a paused Redis", () => {
  let redis: RedisHarness;
  let store: RedisCacheStore;
  beforeAll(async () => {
    redis = await startRedis({ single: true });
    store = new RedisCacheStore({ url: redis.url, timeoutMs: 100, streamMaxLen: 100 });
    await store.ping();
  });
  afterAll(async () => {
    redis.resume();
    await store.close();
    await redis.stop();
  });

  test("every command in flight fails as unavailable and the connection serves again after", async () => {
    const k = (name: string) => `${redis.prefix}${name}`;
    redis.pause();
    // Without deadlines these would wait for the resume below and then succeed.
    const reads = await Promise.allSettled([store.get(k("a")), store.mget([k("a"), k("b")])]);
    redis.resume();
    for (const r of reads) {
      expect(r.status).toBe("rejected");
      const reason = (r as PromiseRejectedResult).reason;
      expect(reason).toBeInstanceOf(StoreUnavailableError);
      expect(String((reason as StoreUnavailableError).cause)).toContain("Command timed out");
    }
    // The replies of the timed-out commands arrive late and must not be taken for newer ones'.
    await store.set(k("a"), "v1", 60);
    expect(await store.get(k("a"))).toBe("v1");
  });
});
