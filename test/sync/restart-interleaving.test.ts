import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { RedisCacheStore } from "../../src/adapters/redis/redis-cache-store";
import { type JitteredDeployment, startJitteredDeployment } from "../support/jittered-deployment";
import { ownsRedis } from "../support/redis-server";
import { seedUser } from "../support/seed";
import type { TestStack } from "../support/stack";

/**
 * After a Redis restart each instance's failover fence refuses its reads until its own repair ran,
 * and the instances get there one after the other: A serves from the new Redis while B's repair
 * still runs. A write on B then finds the key leased by a fill of A that read the older version
 * (set-if-newer refuses it) and cannot read the key to decide what to do. Forced here with B's
 * repair held open: the write must empty the key (the lease goes with it), or it is acknowledged
 * with a debt A never sees and A's fill of the older version lands and is served.
 */
let d: JitteredDeployment;
let a: TestStack;
let b: TestStack;
let releaseB: () => void = () => {};

const fenceOf = (s: TestStack) => (s.ctx.stores.cache as RedisCacheStore).fence;

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

beforeAll(async () => {
  if (!ownsRedis) return;
  d = await startJitteredDeployment({ jitter: null, env: { REDIS_TIMEOUT_MS: 300 } });
  [a, b] = d.stacks as [TestStack, TestStack];
});
afterAll(async () => {
  releaseB();
  await d?.close();
});

/** Restarts Redis and returns once A's fence trusts the new server and B's is still repairing. */
async function restartWithBRepairing(): Promise<void> {
  const held = new Promise<void>((r) => {
    releaseB = r;
  });
  const engineB = b.ctx.use("cacheEngine");
  b.ctx.stores.cache.onFailover(async () => {
    await held;
    await engineB.repairPending();
  });
  const probe = a.ctx.use("cacheEngine").userKey("000000000000000000000000");
  const seenA = fenceOf(a).failovers;
  const seenB = fenceOf(b).failovers;
  await d.redis.kill();
  await d.redis.restart();
  await until("A to repair and trust the new server", () => {
    const f = fenceOf(a);
    return f.failovers > seenA && f.settling() === null && f.allows(probe);
  });
  await until("B to detect the restart", () => fenceOf(b).failovers > seenB);
  expect(fenceOf(b).allows(probe)).toBe(false);
}

/** B writes while A's fill of the version before sits on its lease; what A reads afterwards. */
async function writeOnBDuringAFill(): Promise<{ read: number | undefined; written: number }> {
  const u = await seedUser(a.ctx);
  await restartWithBRepairing();
  const engineA = a.ctx.use("cacheEngine");
  const lease = await engineA.lease(u.id); // A's miss: lease, then MongoDB (version 1)…
  expect(lease.held).toBe(true);
  const before = engineA.sanitize((await engineA.rawUser(u.id)) as Record<string, unknown>);
  const w = await b.ctx.use("cacheSync").updateUserWithSync(u.id, { $set: { bio: "from B" } });
  await engineA.fill(before, lease); // …whose fill arrives after B acknowledged version 2.
  const read = (await a.ctx.use("cacheSync").getUserWithSync(u.id))?.version;
  releaseB();
  return { read, written: w?.version ?? -1 };
}

describe("Redis restarted: A serving again, B's fence still repairing", () => {
  test.if(ownsRedis)("a write acknowledged on B is what A reads next", async () => {
    const { read, written } = await writeOnBDuringAFill();
    expect(written).toBe(2);
    expect(read).toBe(2);
  });

  test.if(ownsRedis)(
    "mutation: with the unreadable key left as it is, A serves the older version",
    async () => {
      for (const s of [a, b]) s.ctx.use("cacheEngine").disableProtectionForTest("emptyUnreadable");
      try {
        const { read, written } = await writeOnBDuringAFill();
        expect(written).toBe(2);
        expect(read).toBe(1);
      } finally {
        for (const s of [a, b])
          s.ctx.use("cacheEngine").disableProtectionForTest("emptyUnreadable", false);
      }
    },
  );
});
