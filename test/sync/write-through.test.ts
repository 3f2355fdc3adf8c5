import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { CacheSyncService } from "../../plugins/cache/cache-sync";
import { userKey } from "../../plugins/cache/cache-sync";
import { eventsTopic, type UserDataUpdated } from "../../plugins/cache/events";
import type { BusMessage } from "../../src/core/ports/event-bus";
import { SECRET_FIELDS, seedUser } from "../support/seed";
import { createTestStack, type TestStack } from "../support/stack";

let stack: TestStack;
let svc: CacheSyncService;
const events: UserDataUpdated[] = [];

beforeAll(async () => {
  stack = await createTestStack();
  svc = stack.ctx.use("cacheSync");
  await stack.stores.bus.subscribe(eventsTopic(stack.config.CACHE_PREFIX), (m: BusMessage) =>
    events.push(JSON.parse(m.payload)),
  );
});
afterAll(() => stack.close());

const cached = async (id: string) => {
  const raw = await stack.stores.cache.get(userKey(stack.config.CACHE_PREFIX, id));
  return raw ? JSON.parse(raw) : null;
};

describe("updateUserWithSync (write-through)", () => {
  test("bumps version in MongoDB, writes the new document to Redis at once, publishes userDataUpdated", async () => {
    const u = await seedUser(stack.ctx);
    const updated = await svc.updateUserWithSync(
      u.id,
      { $set: { bio: "hello" } },
      { reason: "profile edit" },
    );
    expect(updated?.bio).toBe("hello");
    expect(updated?.version).toBe(u.version + 1);
    const entry = await cached(u.id);
    expect(entry.bio).toBe("hello");
    expect(entry.version).toBe(u.version + 1);
    const deadline = Date.now() + 1000;
    while (
      !events.some((e) => e.userId === u.id && e.version === u.version + 1) &&
      Date.now() < deadline
    )
      await Bun.sleep(5);
    const ev = events.find((e) => e.userId === u.id && e.version === u.version + 1);
    expect(ev).toMatchObject({
      type: "userDataUpdated",
      userId: u.id,
      changed: ["bio"],
      reason: "profile edit",
    });
    expect(ev?.user.bio).toBe("hello");
    expect(typeof ev?.at).toBe("string");
  });

  test("secrets written to MongoDB never reach the cache, the result or the event", async () => {
    const u = await seedUser(stack.ctx);
    const updated = await svc.updateUserWithSync(u.id, {
      $set: { passwordHash: "new-hash", "twoFA.secret": "s2", bio: "b" },
    });
    for (const f of SECRET_FIELDS) {
      expect(updated?.[f]).toBeUndefined();
      expect((await cached(u.id))[f]).toBeUndefined();
    }
    await Bun.sleep(50);
    const ev = events.find((e) => e.userId === u.id && e.version === updated?.version);
    expect(ev?.changed).toEqual(["bio"]);
    for (const f of SECRET_FIELDS) expect(ev?.user[f]).toBeUndefined();
  });

  test("an unknown user returns null and writes nothing", async () => {
    expect(
      await svc.updateUserWithSync("0123456789abcdef01234567", { $set: { bio: "x" } }),
    ).toBeNull();
  });

  test("non-operator update documents are refused", async () => {
    const u = await seedUser(stack.ctx);
    await expect(svc.updateUserWithSync(u.id, { bio: "x" })).rejects.toMatchObject({ status: 400 });
    await expect(svc.updateUserWithSync(u.id, { $where: "1" })).rejects.toMatchObject({
      status: 400,
    });
  });

  test("server-side code operators are refused in any filter", async () => {
    await expect(
      stack.ctx.repo.collection("users").findOne({ $where: "sleep(1000)" }),
    ).rejects.toMatchObject({ code: "FORBIDDEN_OPERATOR" });
    await expect(
      stack.ctx.repo.collection("users").find({ $expr: { $gt: ["$a", 1] } }),
    ).rejects.toMatchObject({ status: 400 });
  });

  test("invalidateUserCache removes the entries by id and by email", async () => {
    const u = await seedUser(stack.ctx);
    await svc.getUserWithSync(u.id);
    await svc.invalidateUserCache(u.id, u.email);
    expect(await cached(u.id)).toBeNull();
    expect(
      await stack.stores.cache.get(`${stack.config.CACHE_PREFIX}user:email:${u.email}`),
    ).toBeNull();
    expect((await svc.getUserWithSync(u.id))?.id).toBe(u.id);
  });

  test("deleting a user leaves a tombstone: no fill can resurrect it", async () => {
    const u = await seedUser(stack.ctx);
    await svc.getUserWithSync(u.id);
    const { ObjectId } = await import("bson");
    await stack.ctx.repo.collection("users").deleteOne({ _id: new ObjectId(u.id) });
    expect(await cached(u.id)).toBeNull();
    expect(await svc.getUserWithSync(u.id)).toBeNull();
    expect(
      await stack.stores.cache.setIfNewer(
        userKey(stack.config.CACHE_PREFIX, u.id),
        JSON.stringify(u),
        u.version,
        60,
      ),
    ).toBe(false);
  });
});
