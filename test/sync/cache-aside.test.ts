import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { CacheSyncService } from "../../plugins/cache/cache-sync";
import { emailKey, userKey } from "../../plugins/cache/cache-sync";
import { SECRET_FIELDS, seedUser } from "../support/seed";
import { createTestStack, type TestStack } from "../support/stack";
import { pluginsWithProbe, probePlugin } from "./helpers";

let stack: TestStack;
let svc: CacheSyncService;
const probe = probePlugin();

beforeAll(async () => {
  stack = await createTestStack({
    plugins: pluginsWithProbe(probe),
    env: { CACHE_TTL_SECONDS: 600, CACHE_TTL_JITTER_PCT: 10 },
  });
  svc = stack.ctx.use("cacheSync");
});
afterAll(() => stack.close());

describe("getUserWithSync (cache-aside)", () => {
  test("unknown and malformed ids are null, not errors", async () => {
    expect(await svc.getUserWithSync("0123456789abcdef01234567")).toBeNull();
    expect(await svc.getUserWithSync("nope")).toBeNull();
    expect(await svc.getUserWithSync("")).toBeNull();
  });

  test("a miss reads MongoDB once and fills Redis; the next read is a hit", async () => {
    const u = await seedUser(stack.ctx);
    await svc.invalidateUserCache(u.id);
    probe.reset();
    const first = await svc.getUserWithSync(u.id);
    expect(first?.id).toBe(u.id);
    expect(probe.count("findOne")).toBe(1);
    const second = await svc.getUserWithSync(u.id);
    expect(second).toEqual(first as NonNullable<typeof first>);
    expect(probe.count("findOne")).toBe(1);
  });

  test("100 concurrent reads of a cold key cause exactly one MongoDB read", async () => {
    const u = await seedUser(stack.ctx);
    await svc.invalidateUserCache(u.id);
    probe.reset();
    const results = await Promise.all(Array.from({ length: 100 }, () => svc.getUserWithSync(u.id)));
    expect(probe.count("findOne")).toBe(1);
    expect(new Set(results.map((r) => r?.version))).toEqual(new Set([u.version]));
  });

  test("100 cold reads arriving while the load reads MongoDB cost two MongoDB reads: late arrivals share the next load", async () => {
    const u = await seedUser(stack.ctx);
    await svc.invalidateUserCache(u.id);
    probe.reset();
    const held = probe.hold((op) => op === "findOne");
    const first = Array.from({ length: 50 }, () => svc.getUserWithSync(u.id));
    await held.reached; // the first load's read is issued: it takes no more joiners
    const later = Array.from({ length: 50 }, () => svc.getUserWithSync(u.id));
    await Bun.sleep(20);
    held.release();
    const results = await Promise.all([...first, ...later]);
    console.log(
      `[single-flight] 100 cold reads in two waves: ${probe.count("findOne")} MongoDB reads`,
    );
    expect(probe.count("findOne")).toBe(2);
    expect(new Set(results.map((r) => r?.version))).toEqual(new Set([u.version]));
  });

  test("the cached entry is the sanitized user with its version, TTL as configured with jitter", async () => {
    const u = await seedUser(stack.ctx);
    await svc.getUserWithSync(u.id);
    const raw = await stack.stores.cache.get(userKey(stack.config.CACHE_PREFIX, u.id));
    expect(raw).not.toBeNull();
    const cached = JSON.parse(raw as string);
    expect(cached.id).toBe(u.id);
    expect(cached.version).toBe(1);
    expect(cached._id).toBeUndefined();
    for (const f of SECRET_FIELDS) expect(cached[f]).toBeUndefined();
    const ttl = await stack.stores.cache.ttl(userKey(stack.config.CACHE_PREFIX, u.id));
    expect(ttl).toBeGreaterThan(600 * 0.9 - 2);
    expect(ttl).toBeLessThanOrEqual(600);
    expect(await stack.stores.cache.get(emailKey(stack.config.CACHE_PREFIX, u.email))).toBe(u.id);
  });

  test("lookup by email goes through the email index", async () => {
    const u = await seedUser(stack.ctx);
    await svc.getUserWithSync(u.id);
    probe.reset();
    const byEmail = await svc.getUserByEmailWithSync(u.email.toUpperCase());
    expect(byEmail?.id).toBe(u.id);
    expect(probe.count("findOne")).toBe(0);
    expect(await svc.getUserByEmailWithSync("nobody@example.com")).toBeNull();
  });

  test("a caller mutating its result does not change what others read", async () => {
    const u = await seedUser(stack.ctx);
    await svc.invalidateUserCache(u.id);
    const [a, b] = await Promise.all([svc.getUserWithSync(u.id), svc.getUserWithSync(u.id)]);
    (a as { bio: string }).bio = "mutated";
    expect(b?.bio).toBe("");
  });
});
