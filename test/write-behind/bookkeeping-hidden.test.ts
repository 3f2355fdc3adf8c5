import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eventsTopic, type UserDataUpdated } from "../../plugins/cache/events";
import type { BusMessage } from "../../src/core/ports/event-bus";
import { createUser } from "../support/fixtures";
import { createTestStack, type TestStack } from "../support/stack";
import { ADMIN_ENV, loginAdmin } from "../support/users";

/**
 * `_wb` (what a flush applied) is write-behind's bookkeeping in the stored document: the cache
 * entry keeps it for the overlay arithmetic, but no answer or event shows it — not the reads
 * (view-counter.test.ts), not the `userDataUpdated` of a later write, not the admin routes.
 */
let stack: TestStack;
const events: UserDataUpdated[] = [];
beforeAll(async () => {
  stack = await createTestStack({ env: { ...ADMIN_ENV, WRITE_BEHIND_FLUSH_MS: 60_000 } });
  await stack.stores.bus.subscribe(eventsTopic(stack.config.CACHE_PREFIX), (m: BusMessage) =>
    events.push(JSON.parse(m.payload)),
  );
});
afterAll(() => stack?.close());

describe("write-behind bookkeeping", () => {
  test("a flushed user's later write: no _wb in its answer, its event, or the admin sync/validate answers", async () => {
    const user = await createUser(stack);
    expect((await stack.call("GET", "/api/v1/users/me", { token: user.token })).status).toBe(200);
    await Bun.sleep(20);
    expect(await stack.ctx.use("writeBehind").flush()).toBeGreaterThan(0);

    const patched = await stack.call("PATCH", "/api/v1/users/me", {
      token: user.token,
      body: { bio: "after a flush" },
    });
    expect(patched.status).toBe(200);
    expect(JSON.stringify(await patched.json())).not.toContain("_wb");

    const deadline = Date.now() + 2000;
    const ours = (e: UserDataUpdated) => e.userId === user.id && e.changed.includes("bio");
    while (!events.some(ours) && Date.now() < deadline) await Bun.sleep(5);
    const ev = events.find(ours);
    expect(ev).toBeDefined();
    expect(JSON.stringify(ev)).not.toContain("_wb");

    const admin = await loginAdmin(stack);
    for (const path of [
      `/api/v1/cache/sync/${user.id}`,
      `/api/v1/cache/validate/${user.id}`,
      `/api/v1/cache/users/sync/${user.id}`,
      `/api/v1/cache/users/validate/${user.id}`,
    ]) {
      const r = await stack.call("POST", path, { token: admin });
      expect([path, r.status]).toEqual([path, 200]);
      expect([path, JSON.stringify(await r.json()).includes("_wb")]).toEqual([path, false]);
    }
  });
});
