import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ownsRedis } from "../support/redis-server";
import { createTestStack, type TestStack } from "../support/stack";
import { registerUser } from "../support/users";

/**
 * Login and registration limits (SPEC §8): failures slow the attacker per address + account and
 * per address, never lock the owner out from elsewhere; successes do not count; the client
 * address comes from X-Forwarded-For only through TRUST_PROXY trusted hops.
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack({
    env: {
      TRUST_PROXY: 1,
      LOGIN_MAX_FAILS_PER_ACCOUNT_IP: 3,
      LOGIN_MAX_FAILS_PER_IP: 6,
      REGISTER_RATE_LIMIT: 3,
    },
  });
});
afterAll(() => stack.close());

let ipSeq = 0;
/** A fresh documentation-range address per scenario, so scenarios do not share buckets. */
const freshIp = () => `198.51.100.${++ipSeq}`;

const login = (email: string, password: string, ip: string, xff = ip) =>
  stack.call("POST", "/api/v1/auth/login", {
    body: { email, password },
    headers: { "x-forwarded-for": xff },
  });

const statuses = async (n: number, attempt: () => Promise<Response>) => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await attempt()).status);
  return out;
};

describe("login limits", () => {
  test("a guesser is paused on that account from its address; the owner elsewhere logs in", async () => {
    // registerUser sends no X-Forwarded-For: no address, so no registration budget is spent.
    const owner = await registerUser(stack);
    const attacker = freshIp();
    expect(await statuses(5, () => login(owner.email, "wrong-password", attacker))).toEqual([
      401, 401, 401, 429, 429,
    ]);
    const paused = await login(owner.email, owner.password, attacker);
    expect(paused.status).toBe(429);
    expect(Number(paused.headers.get("retry-after"))).toBeGreaterThan(0);
    const body = (await paused.json()) as { success: boolean; error: { code: string } };
    expect(body).toMatchObject({ success: false, error: { code: "RATE_LIMITED" } });
    // The owner, from anywhere else, is not locked out.
    expect((await login(owner.email, owner.password, freshIp())).status).toBe(200);
  });

  test("successes do not count, and a success forgets the consecutive failures", async () => {
    const owner = await registerUser(stack);
    const ip = freshIp();
    expect(await statuses(8, () => login(owner.email, owner.password, ip))).toEqual(
      Array(8).fill(200),
    );
    // Two failures, a success, two failures…: never three in a row, never paused.
    const seen: number[] = [];
    // (Two rounds: the per-address budget, 6 failures, would otherwise end the third.)
    for (let round = 0; round < 2; round++) {
      seen.push(...(await statuses(2, () => login(owner.email, "wrong-password", ip))));
      seen.push((await login(owner.email, owner.password, ip)).status);
    }
    expect(seen).toEqual([401, 401, 200, 401, 401, 200]);
  });

  test("one address spraying many accounts is paused; other addresses are not", async () => {
    const ip = freshIp();
    const seen = await statuses(8, () =>
      login(`sprayed-${crypto.randomUUID().slice(0, 8)}@example.test`, "wrong-password", ip),
    );
    expect(seen).toEqual([401, 401, 401, 401, 401, 401, 429, 429]);
    expect((await login("someone@example.test", "wrong-password", freshIp())).status).toBe(401);
  });

  test("parallel guesses cannot all slip past the limit (failures are reserved before the check)", async () => {
    const owner = await registerUser(stack);
    const ip = freshIp();
    const all = await Promise.all(
      Array.from({ length: 12 }, () => login(owner.email, "wrong-password", ip)),
    );
    const codes = all.map((r) => r.status);
    expect(codes.filter((s) => s === 401).length).toBe(3);
    expect(codes.filter((s) => s === 429).length).toBe(9);
  });

  test("TRUST_PROXY=1: the address our proxy appended counts, not what the client wrote before it", async () => {
    const owner = await registerUser(stack);
    const real = freshIp();
    const seen = await statuses(5, () =>
      login(
        owner.email,
        "wrong-password",
        real,
        `10.9.${ipSeq}.${(Math.random() * 250) | 0}, ${real}`,
      ),
    );
    expect(seen).toEqual([401, 401, 401, 429, 429]);
  });

  test.if(ownsRedis)(
    "while Redis is down the in-memory insurance limiter keeps counting",
    async () => {
      const s = await createTestStack({
        env: { TRUST_PROXY: 1, LOGIN_MAX_FAILS_PER_ACCOUNT_IP: 2, REDIS_TIMEOUT_MS: 100 },
      });
      try {
        const owner = await registerUser(s);
        await s.redis?.kill();
        const ip = freshIp();
        const seen: number[] = [];
        for (let i = 0; i < 4; i++)
          seen.push(
            (
              await s.call("POST", "/api/v1/auth/login", {
                body: { email: owner.email, password: "wrong-password" },
                headers: { "x-forwarded-for": ip },
              })
            ).status,
          );
        expect(seen).toEqual([401, 401, 429, 429]);
        await s.redis?.restart();
      } finally {
        await s.close();
      }
    },
    20_000,
  );

  test("two instances on one Redis count failures together", async () => {
    const second = await createTestStack({
      redis: stack.redis,
      mongo: stack.mongo,
      dbName: stack.dbName,
      env: { ...pick(stack), TRUST_PROXY: 1, LOGIN_MAX_FAILS_PER_ACCOUNT_IP: 3 },
    });
    try {
      const owner = await registerUser(stack);
      const ip = freshIp();
      const call = (s: TestStack) =>
        s.call("POST", "/api/v1/auth/login", {
          body: { email: owner.email, password: "wrong-password" },
          headers: { "x-forwarded-for": ip },
        });
      const seen = [
        (await call(stack)).status,
        (await call(second)).status,
        (await call(stack)).status,
        (await call(second)).status,
      ];
      expect(seen).toEqual([401, 401, 401, 429]);
    } finally {
      await second.close();
    }
  });
});

/** The second instance shares the first one's cache prefix (one deployment). */
const pick = (s: TestStack) => ({ CACHE_PREFIX: s.config.CACHE_PREFIX });

describe("registration limit", () => {
  test("per address: REGISTER_RATE_LIMIT, then 429 with Retry-After; other addresses unaffected", async () => {
    const ip = freshIp();
    const register = (from: string) => {
      const id = crypto.randomUUID().slice(0, 8);
      return stack.call("POST", "/api/v1/auth/register", {
        body: { email: `r${id}@example.test`, username: `r_${id}`, password: "password-123" },
        headers: { "x-forwarded-for": from },
      });
    };
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) seen.push((await register(ip)).status);
    expect(seen).toEqual([201, 201, 201, 429, 429]);
    const refused = await register(ip);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("RATE_LIMITED");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await register(freshIp())).status).toBe(201);
  });
});
