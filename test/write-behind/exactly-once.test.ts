import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { StoreUnavailableError } from "../../src/core/errors";
import { createTestStack, type TestStack } from "../support/stack";
import { newListing, pluginsWith, storedViews } from "./support";

/**
 * A batch MongoDB took but whose acknowledgement never reached Redis (the flusher crashed, or
 * XACK failed) is flushed again: the per-document guard must make that second write a no-op. The
 * same check with the guard switched off shows it would count twice.
 */
async function viewsAfterARetriedBatch(stack: TestStack, views: number): Promise<number> {
  const id = await newListing(stack.ctx.stores.db);
  for (let i = 0; i < views; i++)
    expect((await stack.call("POST", `/api/v1/listings/${id}/view`)).status).toBe(200);
  const cache = stack.ctx.stores.cache;
  const ack = cache.streamAckDelete.bind(cache);
  let failures = 1;
  cache.streamAckDelete = (...args) => {
    if (failures-- > 0) return Promise.reject(new StoreUnavailableError("redis"));
    return ack(...args);
  };
  const wb = stack.ctx.use("writeBehind");
  expect(await wb.flush().catch((e: unknown) => e)).toBeInstanceOf(StoreUnavailableError);
  expect(await storedViews(stack.ctx.stores.db, id)).toBe(views); // MongoDB has the batch...
  expect((await wb.report()).depth).toBe(views); // ...the queue still holds it
  expect(await wb.flush()).toBe(views); // the same batch, again
  expect((await wb.report()).depth).toBe(0);
  return storedViews(stack.ctx.stores.db, id);
}

describe("write-behind: a retried batch counts once", () => {
  let guarded: TestStack;
  let unguarded: TestStack;
  beforeAll(async () => {
    guarded = await createTestStack();
    unguarded = await createTestStack({ plugins: pluginsWith({ unsafeWithoutIdempotency: true }) });
  });
  afterAll(async () => {
    await guarded?.close();
    await unguarded?.close();
  });

  test("with the guard: exactly the views queued", async () => {
    expect(await viewsAfterARetriedBatch(guarded, 25)).toBe(25);
  });

  test("the check bites: without the guard the retried batch counts twice", async () => {
    expect(await viewsAfterARetriedBatch(unguarded, 25)).toBe(50);
  });

  test("the switch is refused outside NODE_ENV=test", async () => {
    const err = await createTestStack({
      stores: "memory",
      env: { NODE_ENV: "development" },
      plugins: pluginsWith({ unsafeWithoutIdempotency: true }),
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "CS_ERR_TEST_ONLY" });
  });
});

describe("write-behind refused at start-up for money and secrets", () => {
  for (const [fields, named] of [
    [[{ collection: "users", counters: ["wallet.balance"] }], "users.wallet.balance"],
    [[{ collection: "users", counters: ["wallet"] }], "users.wallet"],
    [[{ collection: "users", latest: ["passwordHash"] }], "users.passwordHash"],
    [[{ collection: "users", latest: ["version"] }], "users.version"],
    // Declared sensitive by the listings collection itself (plugins/features/listings).
    [[{ collection: "listings", counters: ["internalNotes"] }], "listings.internalNotes"],
  ] as const) {
    test(`${named}: CS_ERR_WRITE_BEHIND_REFUSED`, async () => {
      const err = await createTestStack({
        stores: "memory",
        plugins: pluginsWith({ fields: fields as never }),
      }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "CS_ERR_WRITE_BEHIND_REFUSED" });
      expect(String((err as Error).message)).toContain(named);
    });
  }

  test("a field configured as sensitive (SENSITIVE_FIELDS) is refused too", async () => {
    const err = await createTestStack({
      stores: "memory",
      env: { SENSITIVE_FIELDS: "lastSeenAt" },
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "CS_ERR_WRITE_BEHIND_REFUSED" });
  });

  test("declared fields cannot be written through the repository", async () => {
    const stack = await createTestStack({ stores: "memory" });
    try {
      const id = await newListing(stack.ctx.stores.db);
      const { ObjectId } = await import("bson");
      const err = await stack.ctx.repo
        .collection("listings")
        .updateOne({ _id: new ObjectId(id) }, { $set: { viewCount: 0 } })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "CS_ERR_WRITE_BEHIND_FIELD" });
    } finally {
      await stack.close();
    }
  });
});
