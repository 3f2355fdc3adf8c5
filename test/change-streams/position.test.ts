/**
 * The consumer lease's fence: an instance paused past its lease, after another took over, cannot
 * move the stored position back nor keep the lease (its writes name a fence that is gone).
 */
import { describe, expect, test } from "bun:test";
import { StreamPosition } from "../../plugins/cache/change-streams/position";
import { MemoryDocumentStore } from "../../src/adapters/memory/memory-document-store";

const LEASE_MS = 60;
const token = (n: number) => ({ _data: `token-${n}` });

/** A holds the lease and stores token 1; it pauses past its lease; B takes over and stores 2. */
async function takeover(fencing = true) {
  const db = new MemoryDocumentStore();
  const a = new StreamPosition(db, "cache", "a", LEASE_MS, fencing);
  const b = new StreamPosition(db, "cache", "b", LEASE_MS, fencing);
  expect(await a.acquire()).toBe(true);
  expect(await b.acquire()).toBe(false); // live lease: B stands by
  expect(await a.save(token(1))).toBe(true);
  await Bun.sleep(LEASE_MS + 30); // A is paused (GC, SIGSTOP, a slow disk) past its lease
  expect(await b.acquire()).toBe(true);
  expect(await b.save(token(2))).toBe(true);
  return { db, a, b };
}

describe("the fenced consumer lease", () => {
  test("a consumer paused past its lease cannot move the position back, renew, or retake it", async () => {
    const { a, b } = await takeover();
    // A wakes up with an event it applied before the pause and tries to store its position.
    expect(await a.save(token(1))).toBe(false);
    expect(a.held).toBe(false);
    expect(await b.load()).toEqual(token(2));
    expect(await a.renew()).toBe(false);
    expect(await a.acquire()).toBe(false); // B's lease is live
    expect(await b.renew()).toBe(true);
    expect(await b.save(token(3))).toBe(true);
    expect(await b.load()).toEqual(token(3));
  });

  test("a graceful stop hands the lease over at once", async () => {
    const db = new MemoryDocumentStore();
    const a = new StreamPosition(db, "cache", "a", 60_000);
    const b = new StreamPosition(db, "cache", "b", 60_000);
    expect(await a.acquire()).toBe(true);
    expect(await b.acquire()).toBe(false);
    await a.release();
    expect(await b.acquire()).toBe(true);
  });

  test("the same check fails with the fence switched off: the paused one moves the position back", async () => {
    const { a, b } = await takeover(false);
    expect(await a.save(token(1))).toBe(true);
    expect(await b.load()).toEqual(token(1));
  });
});
