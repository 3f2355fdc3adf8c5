import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { runMigration } from "../../plugins/operations/adoption/migrate/run";
import { type MongoWireServer, startMongoWire } from "../support/mongo-wire";
import { type RedisHarness, startRedis } from "../support/redis-server";
import { createTestStack } from "../support/stack";
import { ADMIN_ENV, callJson, loginAdmin } from "../support/users";
import { expectAdopted } from "./expect-adopted";
import { LEGACY_PASSWORD, writeLegacyDatabase } from "./legacy-fixture";

let mongo: MongoWireServer | undefined;
let redis: RedisHarness;
let url: string;
beforeAll(async () => {
  redis = await startRedis();
  if (!process.env.MONGO_URL) mongo = await startMongoWire();
  url = process.env.MONGO_URL ?? (mongo as MongoWireServer).url;
});
afterAll(async () => {
  await mongo?.close();
  await redis?.stop();
});

const rand = () => Math.random().toString(36).slice(2, 8);

/** `bun run migrate` as an operator runs it, against this test's servers. */
function migrateProcess(dbName: string, prefix: string, ...args: string[]) {
  return Bun.spawn(["bun", "run", "app/cli/migrate.ts", ...args], {
    env: {
      ...process.env,
      MONGO_URL: url,
      MONGO_DB: dbName,
      REDIS_URL: redis.url,
      CACHE_PREFIX: prefix,
      MONGO_TIMEOUT_MS: "5000",
      LOG_LEVEL: "warn",
      NODE_ENV: "test",
      JWT_SECRET: "test-secret-test-secret-0123456789",
    },
    stdout: "pipe",
    stderr: "pipe",
  });
}

describe("bun run migrate, interrupted and beside live traffic", () => {
  test("SIGKILLed mid-run and restarted: it resumes, finishes, applies nothing twice", async () => {
    const dbName = `cs_test_kill_${rand()}`;
    const prefix = `k${rand()}:`;
    const fixture = await writeLegacyDatabase(url, dbName, 40);
    const first = migrateProcess(
      dbName,
      prefix,
      "--currency-scale",
      "100",
      "--batch-size",
      "16",
      "--pause-ms",
      "40",
    );
    // Kill it once a few batches are in: mid-batch or between, wherever it happens to be.
    const reader = first.stdout.getReader();
    let out = "";
    while ((out.match(/^users \d+/gm) ?? []).length < 3) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`migrate ended before it could be killed:\n${out}`);
      out += new TextDecoder().decode(value);
    }
    await Bun.sleep(Math.floor(Math.random() * 40));
    first.kill("SIGKILL");
    expect(await first.exited).not.toBe(0);

    const second = migrateProcess(dbName, prefix, "--currency-scale", "100");
    const text = await new Response(second.stdout).text();
    expect(await second.exited).toBe(0);
    expect(text).toContain("resuming after user");

    const stack = await createTestStack({
      redis,
      mongo,
      dbName,
      env: { CACHE_PREFIX: prefix, MONGO_TIMEOUT_MS: 5000 },
    });
    try {
      await expectAdopted(stack, fixture);
      const third = migrateProcess(dbName, prefix, "--currency-scale", "100", "--json");
      const json = await new Response(third.stdout).text();
      // Progress lines first, then the report as one JSON document.
      const report = JSON.parse(json.slice(json.indexOf("\n{") + 1)) as {
        changed: Record<string, number>;
      };
      expect(Object.values(report.changed).filter((n) => n !== 0)).toEqual([]);
    } finally {
      await stack.close();
    }
  }, 90_000);

  test("while users are paid and edit their profiles through the API: no balance lost or doubled", async () => {
    const dbName = `cs_test_live_${rand()}`;
    const fixture = await writeLegacyDatabase(url, dbName, 40);
    const stack = await createTestStack({
      redis,
      mongo,
      dbName,
      env: { ...ADMIN_ENV, ADMIN_INITIAL_BALANCE: 1_000_000, MONGO_TIMEOUT_MS: 5000 },
    });
    try {
      const admin = await loginAdmin(stack);
      // Users from the head of the scan order (migrated early) and the tail (migrated late).
      const picked = [...fixture.clean.slice(0, 6), ...fixture.clean.slice(40, 46)];
      const credited = new Map<string, number>();
      const traffic = picked.map(async (u) => {
        const login = await callJson(stack, "POST", "/api/v1/auth/login", {
          body: { email: u.email, password: LEGACY_PASSWORD },
        });
        const token = login.body.data.token as string;
        for (let i = 0; i < 4; i++) {
          await callJson(stack, "PATCH", "/api/v1/users/me", { token, body: { bio: `b${i}` } });
          const dep = await callJson(stack, "POST", "/api/v1/deposits/request", {
            token,
            body: { amount: 100 + i, senderName: "Live" },
          });
          const ok = await callJson(stack, "PUT", `/api/v1/deposits/${dep.body.data.id}/approve`, {
            token: admin,
            body: {},
          });
          if (ok.status === 200) credited.set(u.id, (credited.get(u.id) ?? 0) + 100 + i);
          else expect(ok.status).toBe(409); // a balance not yet converted: refused, nothing moved
        }
      });
      const migration = runMigration(stack.ctx, { currencyScale: 100, batchSize: 20, pauseMs: 5 });
      await Promise.all([...traffic, migration]);
      // A user the migration met mid-change is left for the next run, which settles it.
      await runMigration(stack.ctx, { currencyScale: 100 });
      await expectAdopted(stack, {
        ...fixture,
        clean: fixture.clean.map((u) => ({ ...u, balance: u.balance + (credited.get(u.id) ?? 0) })),
      });
      expect(credited.size).toBeGreaterThan(0);
    } finally {
      await stack.close();
    }
  }, 90_000);
});
