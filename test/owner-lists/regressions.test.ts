import { afterAll, beforeAll, describe, expect, setSystemTime, test } from "bun:test";
import { ObjectId } from "bson";
import { defaultPlugins } from "../../app/plugins";
import { createPeerStack, createTestStack, type TestStack } from "../support/stack";
import { callJson, type RegisteredUser, registerUser } from "../support/users";
import { listProbe, ownerScopedFind } from "./helpers";

/**
 * The holes of the clock-versioned list cache, written against the HTTP API and the repository
 * only (no key layout, no list API), so the same file ran on the code before the list kind: both
 * tests failed there (the late read got ["before"]) and pass on the counter-versioned lists.
 */
const probeA = listProbe();
const probeB = listProbe();
let a: TestStack;
let b: TestStack;
beforeAll(async () => {
  a = await createTestStack({ plugins: [...defaultPlugins(), ...probeA.plugins] });
  b = await createPeerStack(a, { plugins: [...defaultPlugins(), ...probeB.plugins] });
});
afterAll(async () => {
  await b.close();
  await a.close();
});

const titles = async (s: TestStack, u: RegisteredUser) => {
  const r = await callJson(s, "GET", "/api/v1/users/me", { token: u.token });
  expect(r.status).toBe(200);
  return (r.body.data.listings as { title: string }[]).map((l) => l.title);
};

/** Memory pressure: every list key of this owner dropped straight on Redis, whatever its layout. */
const evictLists = async (s: TestStack, owner: string) => {
  const keys: string[] = [];
  await s.stores.cache.scan(`${s.config.CACHE_PREFIX}list*${owner}`, (k) => {
    keys.push(...k);
  });
  if (keys.length) await s.stores.cache.del(keys);
};

const seed = (s: TestStack, owner: string, title: string, at: number) =>
  s.stores.db
    .collection("listings")
    .insertOne({ userId: new ObjectId(owner), title, createdAt: new Date(at) });

describe("list regressions (issue 10, issue 12)", () => {
  test("an evicted tombstone does not let a fill that read before the write land", async () => {
    const u = await registerUser(a);
    await seed(a, u.user.id, "before", 1000);
    const held = probeA.hold(ownerScopedFind("listings"));
    const slow = titles(a, u); // its MongoDB read answers ["before"], then waits
    await held.reached;
    await a.ctx.repo
      .collection("listings")
      .insertOne({ userId: new ObjectId(u.user.id), title: "after", createdAt: new Date(2000) });
    await evictLists(a, u.user.id); // the write's tombstone is gone
    held.release();
    expect(await slow).toEqual(["before"]); // it began before the write
    expect(await titles(a, u)).toEqual(["after", "before"]);
    expect(await titles(b, u)).toEqual(["after", "before"]);
  });

  test("two instances whose clocks differ by minutes never serve an older list", async () => {
    const u = await registerUser(a);
    await seed(a, u.user.id, "before", 1000);
    const real = Date.now();
    const held = probeA.hold(ownerScopedFind("listings"));
    let slow: Promise<string[]>;
    try {
      setSystemTime(new Date(real + 5 * 60_000)); // instance A runs five minutes ahead
      slow = titles(a, u);
      await held.reached;
    } finally {
      setSystemTime();
    }
    // Instance B, on the right time, writes; its invalidation reaches Redis first.
    await b.ctx.repo
      .collection("listings")
      .insertOne({ userId: new ObjectId(u.user.id), title: "after", createdAt: new Date(2000) });
    try {
      setSystemTime(new Date(Date.now() + 5 * 60_000));
      held.release();
      expect(await slow).toEqual(["before"]);
    } finally {
      setSystemTime();
    }
    expect(await titles(b, u)).toEqual(["after", "before"]);
    expect(await titles(a, u)).toEqual(["after", "before"]);
  });
});
