import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { CacheSyncService } from "../../plugins/cache/cache-sync";
import { userKey } from "../../plugins/cache/cache-sync";
import { eagerEvents, eventsTopic, type UserDataUpdated } from "../../plugins/cache/events";
import type { BusMessage } from "../../src/core/ports/event-bus";
import { seedUser } from "../support/seed";
import { createTestStack, type TestStack } from "../support/stack";

/**
 * A write's event is sent right behind its write-through on the cache's connection, and Redis
 * publishes it only once the entry holds its version (plugins/cache/events, `eager`). What a
 * subscriber must never see: an event whose version the entry does not hold yet when it reads
 * the entry on receipt.
 */
let stack: TestStack;
let svc: CacheSyncService;
/** Per event received: its version, and the entry's version read the moment it arrived. */
const seen: { id: string; event: number; entry: number | null }[] = [];

beforeAll(async () => {
  stack = await createTestStack();
  svc = stack.ctx.use("cacheSync");
  await stack.stores.bus.subscribe(eventsTopic(stack.config.CACHE_PREFIX), (m: BusMessage) => {
    const e = JSON.parse(m.payload) as UserDataUpdated;
    void stack.stores.cache.get(key(e.userId)).then((raw) =>
      seen.push({
        id: e.userId,
        event: e.version,
        entry: raw ? (JSON.parse(raw) as { version: number }).version : null,
      }),
    );
  });
});
const eventOrdering = (on: boolean) =>
  stack.ctx.use("cacheEngine").disableProtectionForTest("eventOrdering", !on);
afterEach(() => eventOrdering(true));
afterAll(() => stack.close());

const key = (id: string) => userKey(stack.config.CACHE_PREFIX, id);

async function receivedFor(id: string, version: number) {
  const deadline = Date.now() + 2000;
  for (;;) {
    const hit = seen.find((s) => s.id === id && s.event === version);
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`no event for ${id} v${version}`);
    await Bun.sleep(5);
  }
}

/**
 * A write whose write-through is refused: another fill's lease holds the emptied key, so the
 * entry is refilled from MongoDB after the write (several round trips) before it holds the
 * version. Returns what the subscriber saw for that write's event.
 */
async function writeOverALease() {
  const u = await seedUser(stack.ctx);
  await svc.getUserWithSync(u.id);
  await stack.stores.cache.del([key(u.id)]);
  expect(await stack.stores.cache.acquireFillLease(key(u.id), "someone-else", 5000)).toBe(true);
  const late = eagerEvents.late;
  const written = await svc.updateUserWithSync(u.id, { $set: { bio: "over a lease" } });
  return {
    late: eagerEvents.late - late,
    ...(await receivedFor(u.id, written?.version as number)),
  };
}

describe("eager events (one round trip for the write-through and the event)", () => {
  test("a plain write's event goes out in the write's own round trip, after its entry", async () => {
    const u = await seedUser(stack.ctx);
    await svc.getUserWithSync(u.id);
    const before = eagerEvents.early;
    const written = await svc.updateUserWithSync(u.id, { $inc: { "wallet.balance": 5 } });
    expect(eagerEvents.early).toBe(before + 1);
    const got = await receivedFor(u.id, written?.version as number);
    expect(got.entry).toBeGreaterThanOrEqual(got.event);
  });

  test("an event the entry does not hold yet waits for the refill; with the check broken the subscriber sees it first", async () => {
    const ordered = await writeOverALease();
    expect(ordered.late).toBe(1);
    expect(ordered.entry).toBeGreaterThanOrEqual(ordered.event);

    // The same write with the events published unchecked at once: the subscriber reads the
    // entry before it holds the event's version — what this file exists to catch.
    eventOrdering(false);
    const broken = await writeOverALease();
    expect(broken.entry === null || broken.entry < broken.event).toBe(true);
  });
});
