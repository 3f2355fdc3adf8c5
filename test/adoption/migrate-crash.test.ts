import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { createTestStack } from "../support/stack";
import { ADMIN_ENV, type ApiBody } from "../support/users";
import { expectAdopted } from "./expect-adopted";
import { LEGACY_PASSWORD, writeLegacyDatabase } from "./legacy-fixture";
import { migrateProcess as migrate, migrateReport } from "./migrate-process";
import { type FileServers, startServers } from "./servers";

let servers: FileServers;
beforeAll(async () => {
  servers = await startServers();
});
afterAll(() => servers?.stop());

const rand = () => Math.random().toString(36).slice(2, 8);

/** `bun run migrate` against this test's servers. */
const migrateProcess = (dbName: string, prefix: string, ...args: string[]) =>
  migrate({ mongoUrl: servers.url, dbName, prefix, redis: servers.redis.env }, ...args);

describe("bun run migrate, interrupted and beside live traffic", () => {
  test("SIGKILLed mid-run and restarted: it resumes, finishes, applies nothing twice", async () => {
    const dbName = `cs_test_kill_${rand()}`;
    const prefix = `k${rand()}:`;
    const fixture = await writeLegacyDatabase(servers.url, dbName, 40);
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
      redis: servers.redis,
      mongo: servers.mongo,
      dbName,
      env: { CACHE_PREFIX: prefix, MONGO_TIMEOUT_MS: 5000 },
    });
    try {
      await expectAdopted(stack, fixture);
      const third = migrateProcess(dbName, prefix, "--currency-scale", "100", "--json");
      const json = await new Response(third.stdout).text();
      const report = migrateReport<{ changed: Record<string, number> }>(json);
      expect(Object.values(report.changed).filter((n) => n !== 0)).toEqual([]);
    } finally {
      await stack.close();
    }
  }, 90_000);

  test("`bun run migrate` as its own process while users are paid, debited and edit profiles over HTTP: ledger = balance once both finish", async () => {
    const dbName = `cs_test_live_${rand()}`;
    const fixture = await writeLegacyDatabase(servers.url, dbName, 40);
    const stack = await createTestStack({
      redis: servers.redis,
      mongo: servers.mongo,
      dbName,
      env: {
        ...ADMIN_ENV,
        ADMIN_INITIAL_BALANCE: 1_000_000,
        MONGO_TIMEOUT_MS: 5000,
        REDIS_TIMEOUT_MS: 2000,
      },
    });
    const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: stack.app.fetch });
    const http = async (
      method: string,
      path: string,
      o: { token?: string; body?: unknown } = {},
    ) => {
      const res = await fetch(new URL(path, server.url), {
        method,
        headers: {
          "content-type": "application/json",
          ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
        },
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
      });
      return { status: res.status, body: (await res.json()) as ApiBody };
    };
    try {
      const admin = (
        await http("POST", "/api/v1/auth/login", {
          body: { email: ADMIN_ENV.ADMIN_EMAIL, password: ADMIN_ENV.ADMIN_PASSWORD },
        })
      ).body.data.token as string;
      // Users met early and late by the scan (which follows _id): plain integer balances, float
      // balances the run converts (money on them is refused until then), and users with an
      // old ledger of their own.
      const picked = [
        ...fixture.clean.slice(0, 4),
        ...fixture.clean.slice(40, 44),
        ...fixture.clean.slice(36, 40),
        ...fixture.clean.slice(92, 96),
      ];
      const moved = new Map<string, { net: number; entries: number }>();
      const book = (id: string, amount: number) => {
        const m = moved.get(id) ?? { net: 0, entries: 0 };
        moved.set(id, { net: m.net + amount, entries: m.entries + 1 });
      };
      // The operator's command, in its own process with its own connections and locks.
      const migration = migrateProcess(
        dbName,
        stack.config.CACHE_PREFIX,
        "--currency-scale",
        "100",
        "--batch-size",
        "10",
        "--pause-ms",
        "10",
        "--json",
      );
      const output = new Response(migration.stdout).text();
      let migrating = true;
      const exited = migration.exited.finally(() => {
        migrating = false;
      });
      let rounds = 0;
      const traffic = picked.map(async (u) => {
        const login = await http("POST", "/api/v1/auth/login", {
          body: { email: u.email, password: LEGACY_PASSWORD },
        });
        expect(login.status).toBe(200);
        const token = login.body.data.token as string;
        // Until the migration has exited, and a few rounds at least.
        for (let i = 0; (migrating || i < 3) && i < 60; i++, rounds++) {
          const patched = await http("PATCH", "/api/v1/users/me", {
            token,
            body: { bio: `b${i}` },
          });
          expect(patched.status).toBe(200);
          const dep = await http("POST", "/api/v1/deposits/request", {
            token,
            body: { amount: 100 + i, senderName: "Live" },
          });
          expect(dep.status).toBe(201);
          // Two admins' clicks at once: at most one credits.
          const approvals = await Promise.all(
            [0, 1].map(() =>
              http("PUT", `/api/v1/deposits/${dep.body.data.id}/approve`, {
                token: admin,
                body: {},
              }),
            ),
          );
          const ok = approvals.filter((a) => a.status === 200).length;
          expect(ok).toBeLessThanOrEqual(1);
          for (const a of approvals) if (a.status !== 200) expect(a.status).toBe(409);
          if (ok === 1) book(u.id, 100 + i);
          const wd = await http("POST", "/api/v1/withdrawals/request", {
            token,
            body: { amount: 30 + i, destination: "IBAN" },
          });
          if (wd.status !== 201) {
            expect(wd.body.error?.code).toBe("BALANCE_NOT_MIGRATED");
            continue;
          }
          const paid = await http("PUT", `/api/v1/withdrawals/${wd.body.data.id}/approve`, {
            token: admin,
            body: {},
          });
          if (paid.status === 200) book(u.id, -(30 + i));
          else expect(paid.body.error?.code).toBe("BALANCE_NOT_MIGRATED");
        }
      });
      await Promise.all([...traffic, exited]);
      expect(await exited).toBe(0);
      const text = await output;
      const report = migrateReport<{ refused: { check: string; id: string }[] }>(text);
      const inFlight = report.refused.filter((r) => r.check === "user.ledger.in-flight");
      console.log(
        `[migrate beside traffic] ${rounds} rounds of PATCH + deposit + double approval + withdrawal over HTTP on ${picked.length} users; ${[...moved.values()].reduce((n, m) => n + m.entries, 0)} balance changes applied; ${/settling (\d+) users/.exec(text)?.[1] ?? 0} users put aside and settled after the scan, ${inFlight.length} left in flight`,
      );
      expect(inFlight).toEqual([]);

      // Right after both finish, with no second run: every adoptable user at the fixture's
      // balance plus exactly what moved, ledger = balance, nothing negative, cache = MongoDB.
      await expectAdopted(stack, {
        ...fixture,
        clean: fixture.clean.map((u) => ({
          ...u,
          balance: u.balance + (moved.get(u.id)?.net ?? 0),
        })),
      });
      // No double credit: one ledger entry per applied change, beside the opening and old ones.
      for (const u of picked) {
        const entries = await stack.stores.db
          .collection("ledger")
          .find({ userId: new ObjectId(u.id), opId: { $not: /^(opening|legacy):/ } });
        expect({ id: u.id, entries: entries.length }).toEqual({
          id: u.id,
          entries: moved.get(u.id)?.entries ?? 0,
        });
      }
      expect(moved.size).toBeGreaterThan(0);
    } finally {
      await server.stop(true);
      await stack.close();
    }
  }, 90_000);
});
