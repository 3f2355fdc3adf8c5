/**
 * Measures GET /users/me with everything cached (docs/ARCHITECTURE.md): Redis commands (MONITOR)
 * and MongoDB commands (the wire server's counters) for TRACE_N warm requests, and the Redis round
 * trips of one (round-trips.ts). A coverage diff of
 * TRACE_N=0 and TRACE_N=1 lists the files the request passes through.
 * Run: TRACE_N=1 bun test ./test/trace/users-me.trace.ts
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { ObjectId } from "bson";
import Redis from "ioredis";
import { roundTrips } from "../support/round-trips";
import { createTestStack, type TestStack } from "../support/stack";
import { registerUser } from "../support/users";

let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack();
});
afterAll(() => stack.close());

test("GET /users/me, warm", async () => {
  const u = await registerUser(stack);
  const listings = stack.stores.db.collection("listings");
  const mine = await listings.insertOne({
    userId: new ObjectId(u.user.id),
    title: "mine",
    createdAt: new Date(),
  });
  const theirs = await listings.insertOne({
    userId: new ObjectId(),
    title: "theirs",
    createdAt: new Date(),
  });
  await stack.stores.db
    .collection("favorites")
    .insertOne({ userId: new ObjectId(u.user.id), listingId: theirs._id, createdAt: new Date() });
  void mine;
  for (let i = 0; i < 3; i++) await stack.call("GET", "/api/v1/users/me", { token: u.token });
  const n = Number(process.env.TRACE_N ?? 1);
  const mon = await new Redis(stack.redis?.url as string).monitor();
  const cmds: string[] = [];
  mon.on("monitor", (_t: string, args: string[]) => cmds.push(args.join(" ")));
  await Bun.sleep(100);
  stack.mongo?.resetStats();
  const trips = roundTrips(stack.stores.cache);
  for (let i = 0; i < n; i++) {
    if (i === 0) trips.start();
    const r = await stack.call("GET", "/api/v1/users/me", { token: u.token });
    expect(r.status).toBe(200);
    if (i === 0) console.log(JSON.stringify(trips.stop(), null, 1));
  }
  await Bun.sleep(200);
  mon.disconnect();
  console.log(JSON.stringify({ redis: cmds, mongo: stack.mongo?.stats.commands }, null, 1));
});
