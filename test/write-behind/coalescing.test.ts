import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { createTestStack, type TestStack } from "../support/stack";
import { countWrites, newListing, storedViews, wireWrites } from "./support";

const INCREMENTS = 10_000;
const CLIENTS = 64;

describe("write-behind coalescing: one hot listing", () => {
  let stack: TestStack;
  beforeAll(async () => {
    // The flush runs on its timer during the load, as in production.
    stack = await createTestStack({
      // Generous store timeouts: a loaded CI machine must not turn this into a timeout test.
      env: {
        WRITE_BEHIND_FLUSH_MS: 500,
        WRITE_BEHIND_BATCH_SIZE: 1000,
        REDIS_TIMEOUT_MS: 3000,
        MONGO_TIMEOUT_MS: 5000,
      },
    });
  });
  afterAll(() => stack?.close());

  test(`${INCREMENTS} views from ${CLIENTS} concurrent clients: the exact total in MongoDB, ≥ 100× fewer writes`, async () => {
    const id = await newListing(stack.ctx.stores.db, { viewCount: 0 });
    const writes = countWrites(stack.stores);
    stack.mongo?.resetStats();
    let next = 0;
    const statuses = new Map<number, number>();
    const client = async () => {
      while (next < INCREMENTS) {
        next++;
        const res = await stack.call("POST", `/api/v1/listings/${id}/view`);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        await res.arrayBuffer();
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: CLIENTS }, client));
    const loadMs = performance.now() - started;
    expect(Object.fromEntries(statuses)).toEqual({ 200: INCREMENTS });

    // Readers see every view before MongoDB has them all.
    const read = await stack.ctx.repo.collection("listings").findOne({ _id: new ObjectId(id) });
    expect(read?.viewCount).toBe(INCREMENTS);

    const wb = stack.ctx.use("writeBehind");
    while ((await wb.report()).depth > 0) await wb.flush();
    expect(await storedViews(stack.ctx.stores.db, id)).toBe(INCREMENTS);
    const again = await stack.ctx.repo.collection("listings").findOne({ _id: new ObjectId(id) });
    expect(again?.viewCount).toBe(INCREMENTS);

    const onWire = wireWrites(stack);
    console.log(
      `[write-behind] ${INCREMENTS} views by ${CLIENTS} clients in ${loadMs.toFixed(0)} ms: ${writes.count} MongoDB writes through the store${onWire === null ? "" : `, ${onWire} write commands on the wire server`} (${(INCREMENTS / Math.max(1, writes.count)).toFixed(0)}× fewer)`,
    );
    expect(writes.count).toBeGreaterThan(0);
    expect(writes.count * 100).toBeLessThanOrEqual(INCREMENTS);
    if (onWire !== null) expect(onWire * 100).toBeLessThanOrEqual(INCREMENTS);
  }, 120_000);
});
