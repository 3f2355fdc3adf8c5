/**
 * A user's queued lastSeenAt lives in the cached entry itself (docs/WRITE-BEHIND.md, "Readers see
 * the change at once"), so a hit is one GET of the entry alone. What keeps it there once the
 * change is acknowledged, each shown failing with its protection off (`carriedTimes`):
 * - a write-through (MongoDB's document, without the queued time) does not drop it;
 * - a fill that read the overlay before the change, racing it, does not land without it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { holdCacheCall } from "../support/cache-gate";
import { createUser, type TestUser, userKeyOf } from "../support/fixtures";
import { roundTrips } from "../support/round-trips";
import { createTestStack, type TestStack } from "../support/stack";

let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack();
});
afterAll(() => stack?.close());

const users = () => stack.ctx.use("cache").users;
const queue = (id: string, at: number) =>
  stack.ctx.use("writeBehind").change("users", id, { latest: { lastSeenAt: at } });
const seenAt = async (id: string) => Date.parse(String((await users().get(id))?.lastSeenAt));

/** Runs `body` with the protection off, then on again. */
async function unprotected<T>(body: () => Promise<T>): Promise<T> {
  const engine = stack.ctx.use("cacheEngine");
  engine.disableProtectionForTest("carriedTimes");
  try {
    return await body();
  } finally {
    engine.disableProtectionForTest("carriedTimes", false);
  }
}

/** A write-through of `user` (MongoDB's document: its lastSeenAt is not the queued one). */
async function writeThrough(user: TestUser, bio: string): Promise<void> {
  const res = await stack.call("PATCH", "/api/v1/users/me", { token: user.token, body: { bio } });
  expect(res.status).toBe(200);
}

describe("write-behind's latest times carried in the entry", () => {
  test("a hit is one GET of the entry, and shows a time queued after it was cached", async () => {
    const user = await createUser(stack);
    await users().get(user.id); // cached
    const at = Date.now() + 60_000;
    await queue(user.id, at);
    const trips = roundTrips(stack.stores.cache);
    trips.start();
    const doc = await users().get(user.id);
    const { commands } = trips.stop();
    expect(commands.map((c) => c.command)).toEqual([`get ${userKeyOf(stack, user.id)}`]);
    expect(Date.parse(String(doc?.lastSeenAt))).toBe(at);
    expect(doc).not.toHaveProperty("_wb");
  });

  test("a write-through keeps a queued time it did not carry", async () => {
    const user = await createUser(stack);
    await users().get(user.id);
    const at = Date.now() + 60_000;
    await queue(user.id, at);
    await writeThrough(user, "after the queued time");
    const doc = await users().get(user.id);
    expect(doc?.bio).toBe("after the queued time");
    expect(Date.parse(String(doc?.lastSeenAt))).toBe(at);
  });

  test("the check bites: without the protection the write-through drops the queued time", async () => {
    const user = await createUser(stack);
    await users().get(user.id);
    const at = Date.now() + 60_000;
    await queue(user.id, at);
    await unprotected(() => writeThrough(user, "dropped"));
    expect(await seenAt(user.id)).not.toBe(at);
  });

  /**
   * A fill reads the overlay (before the change), then the change is queued — overlay written,
   * acknowledged — while the fill is held, then the fill stores. A read that begins after the
   * acknowledgement must show the queued time.
   */
  async function fillRacingAChange(): Promise<number> {
    const user = await createUser(stack);
    const cache = stack.ctx.stores.cache;
    await cache.del([userKeyOf(stack, user.id)]);
    const overlayRead = holdCacheCall(cache, "mget", (keys) =>
      keys.some((k) => k.includes(`wb:users:${user.id}`)),
    );
    const fill = users().get(user.id);
    await overlayRead.reached;
    const at = Date.now() + 60_000;
    await queue(user.id, at); // acknowledged
    overlayRead.release();
    await fill;
    return (await seenAt(user.id)) === at ? at : Number.NaN;
  }

  test("a fill that read the overlay before a queued change does not land without it", async () => {
    expect(await fillRacingAChange()).not.toBeNaN();
  });

  test("the check bites: without the protection that fill lands and the time is lost", async () => {
    expect(await unprotected(fillRacingAChange)).toBeNaN();
  });

  test("validate: a queued time in the entry is not a difference", async () => {
    const user = await createUser(stack);
    await users().get(user.id);
    await queue(user.id, Date.now() + 60_000);
    expect(await users().validate(user.id)).toEqual({ consistent: true });
  });

  test("login by email (getBy) on a miss shows the queued time", async () => {
    const user = await createUser(stack);
    const at = Date.now() + 60_000;
    await queue(user.id, at);
    await stack.stores.cache.del([userKeyOf(stack, user.id)]);
    const doc = await users().getBy("email", user.email);
    expect(Date.parse(String(doc?.lastSeenAt))).toBe(at);
  });
});
