/**
 * GET /users/me reads in as few Redis round trips as its data allows (docs/ARCHITECTURE.md,
 * "Trace"): the account (its entry carries write-behind's queued lastSeenAt) and both owner lists
 * in one, the listings the lists name in a second, none when the lists are empty. No route reads
 * a user's write-behind overlay on a hit.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { roundTrips } from "../support/round-trips";
import { createTestStack, type TestStack } from "../support/stack";
import { registerUser } from "../support/users";

let stack: TestStack;
let trips: ReturnType<typeof roundTrips>;
beforeAll(async () => {
  stack = await createTestStack();
  trips = roundTrips(stack.stores.cache);
});
afterAll(() => stack.close());

/** The warm request's round trips and commands (name and key). */
async function measured(path: string, token: string) {
  for (let i = 0; i < 2; i++) expect((await stack.call("GET", path, { token })).status).toBe(200);
  trips.start();
  const r = await stack.call("GET", path, { token });
  const out = trips.stop();
  expect(r.status).toBe(200);
  return out;
}

describe("Redis round trips", () => {
  test("GET /users/me: one round trip for the account and both lists, one for their listings", async () => {
    const u = await registerUser(stack);
    const empty = await measured("/api/v1/users/me", u.token);
    expect(empty.roundTrips).toBe(1);
    const owner = new ObjectId(u.user.id);
    const listings = stack.ctx.repo.collection("listings");
    await listings.insertOne({ userId: owner, title: "mine", createdAt: new Date() });
    const theirs = await listings.insertOne({ userId: new ObjectId(), title: "theirs" });
    await stack.ctx.repo
      .collection("favorites")
      .insertOne({ userId: owner, listingId: theirs._id, createdAt: new Date() });
    const full = await measured("/api/v1/users/me", u.token);
    expect(full.roundTrips).toBe(2);
    const first = full.commands.filter((c) => c.wave === 1).map((c) => c.command.split(" ")[0]);
    // The account (the session check's GET: its entry carries the queued lastSeenAt, so no
    // write-behind overlay is read beside it) and both lists.
    expect(first.sort()).toEqual(["get", "get", "get"]);
  });

  test("another authenticated route's session check reads no write-behind overlay", async () => {
    const u = await registerUser(stack);
    const { commands } = await measured("/api/v1/wallet/ledger", u.token);
    const ofUser = commands.filter((c) => c.command.includes(u.user.id));
    expect(ofUser.map((c) => c.command.split(" ")[0])).toContain("get");
    expect(ofUser.filter((c) => c.command.includes("wb:"))).toEqual([]);
  });
});
