import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import type { CacheSyncService } from "../../plugins/cache/cache-sync";
import { userKey } from "../../plugins/cache/cache-sync";
import { eventsTopic, type UserDataUpdated } from "../../plugins/cache/events";
import type { BusMessage } from "../../src/core/ports/event-bus";
import { seedUser } from "../support/seed";
import { createTestStack, type TestStack } from "../support/stack";

/**
 * SENSITIVE_FIELDS may name a path into a sub-document or an array of them (an adopted database's
 * `auth.refreshTokens`, `devices.pushToken`): it is hidden from Redis, answers and events like a
 * top-level name, and the document in MongoDB keeps it.
 */
let stack: TestStack;
let svc: CacheSyncService;
const events: UserDataUpdated[] = [];

beforeAll(async () => {
  stack = await createTestStack({
    env: { SENSITIVE_FIELDS: "auth.refreshTokens,devices.pushToken" },
  });
  svc = stack.ctx.use("cacheSync");
  await stack.stores.bus.subscribe(eventsTopic(stack.config.CACHE_PREFIX), (m: BusMessage) =>
    events.push(JSON.parse(m.payload)),
  );
});
afterAll(() => stack.close());

describe("dotted SENSITIVE_FIELDS", () => {
  test("hidden in the cache entry, the read, the write's answer and the event; kept in MongoDB", async () => {
    const u = await seedUser(stack.ctx);
    const updated = await svc.updateUserWithSync(u.id, {
      $set: {
        auth: { provider: "password", refreshTokens: ["rt-secret-1"] },
        devices: [
          { name: "phone", pushToken: "push-secret-1" },
          { name: "tablet", pushToken: "push-secret-2" },
          "legacy-string-entry",
        ],
      },
    });
    const expected = {
      auth: { provider: "password" },
      devices: [{ name: "phone" }, { name: "tablet" }, "legacy-string-entry"],
    };
    expect(updated).toMatchObject(expected);
    expect(JSON.stringify(updated)).not.toMatch(/secret/);

    const raw = await stack.stores.cache.get(userKey(stack.config.CACHE_PREFIX, u.id));
    expect(raw).not.toBeNull();
    expect(raw).not.toMatch(/rt-secret|push-secret|refreshTokens|pushToken/);

    await stack.stores.cache.del([userKey(stack.config.CACHE_PREFIX, u.id)]);
    const read = await svc.getUserWithSync(u.id);
    expect(read).toMatchObject(expected);
    expect(JSON.stringify(read)).not.toMatch(/secret/);

    const deadline = Date.now() + 1000;
    const ours = (e: UserDataUpdated) => e.userId === u.id && e.version === u.version + 1;
    while (!events.some(ours) && Date.now() < deadline) await Bun.sleep(5);
    const ev = events.find(ours);
    expect(ev?.user).toMatchObject(expected);
    expect(JSON.stringify(ev)).not.toMatch(/secret/);

    // The stored document is untouched: hiding copies what it changes.
    const stored = await stack.stores.db.collection("users").findOne({ _id: new ObjectId(u.id) });
    expect(stored?.auth).toEqual({ provider: "password", refreshTokens: ["rt-secret-1"] });
    expect(stored?.devices).toEqual([
      { name: "phone", pushToken: "push-secret-1" },
      { name: "tablet", pushToken: "push-secret-2" },
      "legacy-string-entry",
    ]);
  });
});
