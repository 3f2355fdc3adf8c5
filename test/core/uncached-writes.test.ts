import { afterAll, beforeAll, describe, expect } from "bun:test";
import { ObjectId } from "bson";
import { testOwning } from "../support/mongo-ownership";
import { createTestStack, type TestStack } from "../support/stack";

/**
 * A write to a collection no cache holds (the ledger, requests, an app's own) is the store's write
 * alone: no layer asks the repository for the documents before and after it. A catch-all
 * `announce` hook (read-your-writes had one) made every such write read them back: two more
 * MongoDB round trips on every ledger row of a deposit approval.
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack();
});
afterAll(() => stack.close());

const ownsMongo = testOwning({ mongo: true });

describe("writes to uncached collections", () => {
  ownsMongo("cost one MongoDB command each, with the default plugins", async () => {
    const notes = stack.ctx.repo.collection("uncached_notes", { write: { reason: "test" } });
    const _id = new ObjectId();
    stack.mongo?.resetStats();
    await notes.insertOne({ _id, n: 1 });
    await notes.updateOne({ _id }, { $inc: { n: 1 } });
    await notes.deleteOne({ _id });
    expect(stack.mongo?.stats.commands).toEqual({ insert: 1, update: 1, delete: 1 });
  });
});
