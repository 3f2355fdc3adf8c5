import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MongoClient } from "mongodb";
import { createTestStack } from "../support/stack";
import { ADMIN_ENV, callJson, loginAdmin } from "../support/users";
import { LEGACY_PASSWORD, writeLegacyDatabase } from "./legacy-fixture";
import { type MigrateTarget, migrateProcess } from "./migrate-process";
import { type FileServers, startServers } from "./servers";

let servers: FileServers;
beforeAll(async () => {
  servers = await startServers();
});
afterAll(() => servers?.stop());

const rand = () => Math.random().toString(36).slice(2, 8);

/** Every user's balance exactly as stored (type included: a Decimal128 stays one). */
async function storedBalances(dbName: string): Promise<Map<string, string>> {
  const client = await new MongoClient(servers.url).connect();
  try {
    const users = await client.db(dbName).collection("users").find({}).toArray();
    return new Map(
      users.map((u) => {
        const b = (u.wallet as { balance?: unknown } | undefined)?.balance;
        const type = b === null || b === undefined ? String(b) : (b.constructor?.name ?? typeof b);
        return [String(u._id), `${type}:${String(b)}`];
      }),
    );
  } finally {
    await client.close();
  }
}

const notInteger = (stored: string) =>
  !/^(Number:-?\d+|undefined:undefined)$/.test(stored) && stored !== "null:null";

describe("bun run migrate, as an operator runs it", () => {
  test("without --currency-scale: non-integer balances are refused, reported and left untouched; no money moves on them", async () => {
    const dbName = `cs_test_noscale_${rand()}`;
    const prefix = `n${rand()}:`;
    await writeLegacyDatabase(servers.url, dbName, 4);
    const before = await storedBalances(dbName);
    const odd = [...before].filter(([, b]) => notInteger(b)).map(([id]) => id);
    // The fixture's floats, numeric strings, Decimal128s and ambiguous values.
    expect(odd.length).toBe(38);

    const run = migrateProcess({ mongoUrl: servers.url, dbName, prefix, redis: servers.redis.env });
    const out = await new Response(run.stdout).text();
    expect(await run.exited).toBe(0);
    const refused = [...out.matchAll(/^refused user\.balance\.not-integer (\w+): (.*)$/gm)];
    expect(refused.map((m) => m[1]).sort()).toEqual([...odd].sort());
    for (const m of refused) expect(m[2]).toContain("pass --currency-scale to convert");
    expect(out).toContain("left for a decision");

    const after = await storedBalances(dbName);
    for (const id of odd)
      expect({ id, balance: after.get(id) }).toEqual({ id, balance: before.get(id) });

    // The API on such a user: the approval is refused and nothing moves.
    const stack = await createTestStack({
      redis: servers.redis,
      mongo: servers.mongo,
      dbName,
      env: {
        ...ADMIN_ENV,
        ADMIN_INITIAL_BALANCE: 100_000,
        MONGO_TIMEOUT_MS: 5000,
        CACHE_PREFIX: prefix,
      },
    });
    try {
      const client = await new MongoClient(servers.url).connect();
      const user = await client
        .db(dbName)
        .collection("users")
        .findOne({ "wallet.balance": 50.25 })
        .finally(() => client.close());
      const id = String(user?._id);
      const email = String(user?.email);
      const login = await callJson(stack, "POST", "/api/v1/auth/login", {
        body: { email, password: LEGACY_PASSWORD },
      });
      expect(login.status).toBe(200);
      const dep = await callJson(stack, "POST", "/api/v1/deposits/request", {
        token: login.body.data.token,
        body: { amount: 100, senderName: "Unscaled" },
      });
      const approved = await callJson(
        stack,
        "PUT",
        `/api/v1/deposits/${dep.body.data.id}/approve`,
        {
          token: await loginAdmin(stack),
          body: {},
        },
      );
      expect(approved.status).toBe(409);
      expect(approved.body.error?.code).toBe("BALANCE_NOT_MIGRATED");
      expect((await storedBalances(dbName)).get(id)).toBe("Number:50.25");
    } finally {
      await stack.close();
    }
  }, 60_000);

  test("without REDIS_URL it refuses in one line (exit 2) and writes nothing; --no-cache says there is no Redis", async () => {
    const dbName = `cs_test_noredis_${rand()}`;
    await writeLegacyDatabase(servers.url, dbName, 2);
    const target: MigrateTarget = { mongoUrl: servers.url, dbName, prefix: `r${rand()}:` };
    const refused = migrateProcess(target, "--currency-scale", "100");
    const [stdout, stderr] = await Promise.all([
      new Response(refused.stdout).text(),
      new Response(refused.stderr).text(),
    ]);
    expect(await refused.exited).toBe(2);
    expect(stdout).toBe("");
    const lines = stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("REDIS_URL is not set");
    expect(lines[0]).toContain("--no-cache");
    const client = await new MongoClient(servers.url).connect();
    try {
      const users = client.db(dbName).collection("users");
      expect(await users.countDocuments({ version: { $exists: true } })).toBe(0);

      const told = migrateProcess(target, "--currency-scale", "100", "--no-cache");
      await new Response(told.stdout).text();
      expect(await told.exited).toBe(0);
      expect(await users.countDocuments({ version: { $exists: false } })).toBe(0);
    } finally {
      await client.close();
    }
  }, 60_000);
});
