import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import pMap from "p-map";
import { exposedSensitiveFields } from "../../plugins/operations/adoption/doctor/exposed-fields";
import { type DoctorReport, runDoctor } from "../../plugins/operations/adoption/doctor/scan";
import { type MigrationReport, runMigration } from "../../plugins/operations/adoption/migrate/run";
import { type Contract, json, openContract, userPass } from "../openapi/contract";
import { type MongoWireServer, startMongoWire } from "../support/mongo-wire";
import { type RedisHarness, startRedis } from "../support/redis-server";
import { createTestStack, type TestStack } from "../support/stack";
import { ADMIN_ENV, loginAdmin } from "../support/users";
import { assertMoneyInvariants } from "../wallet/invariants";
import { type LegacyFixture, writeLegacyDatabase } from "./legacy-fixture";

/**
 * The HTTP contract on adopted data: the fixture database the original app wrote, migrated, then
 * served. The same document-checked calls as test/openapi/conformance.test.ts (its `userPass`)
 * run as an adopted user of each shape; every adoptable user logs in and reads its profile and
 * ledger; the users the migration must leave answer every route that touches them as
 * documented, with a clear 4xx where their data cannot serve. Then the money invariants, user
 * by user.
 */

let mongo: MongoWireServer | undefined;
let redis: RedisHarness;
let stack: TestStack;
let fixture: LegacyFixture;
let migration: MigrationReport;
let doctor: DoctorReport;
let contract: Contract;
let admin: string;
const dbName = `cs_test_adopted_${Math.random().toString(36).slice(2, 8)}`;
/** Balance each adoptable user must hold at the end: the fixture's, plus what the test moved. */
const expected = new Map<string, number>();

beforeAll(async () => {
  redis = await startRedis();
  if (!process.env.MONGO_URL) mongo = await startMongoWire();
  fixture = await writeLegacyDatabase(
    process.env.MONGO_URL ?? (mongo as MongoWireServer).url,
    dbName,
    undefined,
    { nestedSecrets: true },
  );
  stack = await createTestStack({
    redis,
    mongo,
    dbName,
    env: {
      ...ADMIN_ENV,
      ADMIN_INITIAL_BALANCE: 100_000_000,
      MONGO_TIMEOUT_MS: 5000,
      // What an operator adds after reading the doctor: `auth` hides the whole sub-document,
      // `devices.pushToken` that field of each device — neither shown, neither reported.
      SENSITIVE_FIELDS: "auth,devices.pushToken",
    },
  });
  migration = await runMigration(stack.ctx, { currencyScale: 100 });
  doctor = await runDoctor(stack.stores.db, { sensitive: stack.config.SENSITIVE_FIELDS });
  contract = await openContract(stack);
  admin = await loginAdmin(stack);
  for (const u of fixture.adoptable) expected.set(u.id, u.balance);
}, 30_000);
afterAll(async () => {
  await stack?.close();
  await mongo?.close();
  await redis?.stop();
});

const ids = (rows: { id: string }[]) => [...new Set(rows.map((r) => r.id))].sort();
/** The users a check names: from the migration's refusals, or else from the doctor's findings. */
const reportedBy = (check: string) =>
  ids(
    migration.refused.some((r) => r.check === check)
      ? migration.refused.filter((r) => r.check === check)
      : doctor.findings.filter((f) => f.check === check && f.collection === "users"),
  );

async function login({ email, password }: { email: string; password: string }) {
  const res = await contract.call("login", { body: { email, password } });
  return { status: res.status, token: json(res.body).data?.token as string | undefined };
}

describe("the HTTP contract on a database the original app wrote, once migrated", () => {
  test("the users left for a decision are exactly the ones reported, each under its check", () => {
    const checks = [...new Set(fixture.reported.map((r) => r.check))];
    expect(checks.length).toBe(7);
    for (const check of checks)
      expect({ check, ids: reportedBy(check) }).toEqual({
        check,
        ids: ids(fixture.reported.filter((r) => r.check === check)),
      });
  });

  test("every operation on one adopted user of each shape answers as the document says", async () => {
    const groups = new Map<string, (typeof fixture.adoptable)[number]>();
    for (const u of fixture.adoptable) if (u.login && !groups.has(u.group)) groups.set(u.group, u);
    expect(groups.size).toBe(12);
    for (const u of groups.values()) {
      const { token } = await login(u);
      if (!token) throw new Error(`${u.group} ${u.email}: no login`);
      expected.set(u.id, await userPass(contract, admin, { id: u.id, token, balance: u.balance }));
    }
    expect(contract.drift).toEqual([]);
  }, 30_000);

  test("every adoptable user: public view, cache consistent, login, profile as stored, ledger summing to it from its opening balance; the API shows exactly the secrets the doctor reports", async () => {
    const leaks = new Map<string, string[]>();
    for (const f of doctor.findings)
      if (f.check === "user.field.sensitive-name" || f.check === "user.field.code-name")
        leaks.set(f.id, [...(leaks.get(f.id) ?? []), f.detail ?? ""].sort());
    await pMap(
      fixture.adoptable,
      async (u) => {
        const api = contract.call;
        expect((await api("getUser", { params: { id: u.id } })).status).toBe(200);
        expect(
          json((await api("validateUserCache", { params: { userId: u.id }, token: admin })).body)
            .data,
        ).toEqual({ consistent: true });
        const { status, token } = await login(u);
        // An unverifiable hash, or an email whose lower-cased form is another account's.
        expect({ email: u.email, status }).toEqual({ email: u.email, status: u.login ? 200 : 401 });
        if (!token) return;
        const me = json((await api("getMe", { token })).body).data.user;
        const held = expected.get(u.id);
        if (held === undefined) throw new Error(`${u.id}: not adoptable`);
        expect({ id: u.id, balance: me.wallet.balance }).toEqual({ id: u.id, balance: held });
        const shown = exposedSensitiveFields(me).map((f) => f.path);
        expect({ id: u.id, shown: shown.sort() }).toEqual({
          id: u.id,
          shown: leaks.get(u.id) ?? [],
        });

        const page = await api("getLedger", { token, query: { limit: "100" } });
        const items = json(page.body).data.items as { amount: number; reason: string }[];
        expect({ id: u.id, sum: items.reduce((s, e) => s + e.amount, 0) }).toEqual({
          id: u.id,
          sum: held,
        });
        if (u.balance !== 0) expect(items.at(-1)?.reason).toBe("opening balance");
      },
      { concurrency: 4 },
    );
    expect(contract.drift).toEqual([]);
  }, 30_000);

  test("the users it must not fix: every route that touches them answers as documented, never 5xx; money they cannot hold is a clear 4xx", async () => {
    const api = contract.call;
    const statuses: string[] = [];
    const touch = async (label: string, o: Parameters<typeof api>[1]) => {
      const res = await api(label, o);
      statuses.push(`${label} ${res.status}`);
      return res;
    };
    const refusal = (res: { status: number; body: unknown }) => ({
      status: res.status,
      code: json(res.body).error?.code,
    });
    /** Answers that show a refused balance as stored (a float), where the document says integer. */
    const asStored: string[] = [];
    const users = new Map<string, (typeof fixture.reported)[number] & { checks: string[] }>();
    for (const r of fixture.reported)
      users.set(r.id, { ...r, checks: [...(users.get(r.id)?.checks ?? []), r.check] });

    for (const r of users.values()) {
      const { id, checks } = r;
      const drifted = contract.drift.length;
      const byId = { params: { userId: id }, token: admin };
      for (const op of ["validateUserCache", "syncUserCache", "invalidateUserCache"])
        await touch(op, byId);
      await touch("bulkSyncUserCaches", { token: admin, body: { userIds: [id] } });
      const entry = { params: { collection: "users", id }, token: admin };
      for (const op of [
        "validateCollectionCache",
        "syncCollectionCache",
        "invalidateCollectionCache",
      ])
        await touch(op, entry);
      await touch("getUser", { params: { id } });

      const { status, token } = await login(r);
      statuses.push(`login ${status}`);
      if (token) {
        for (const op of [
          "getMe",
          "getSseTicket",
          "streamEvents",
          "listDeposits",
          "listWithdrawals",
        ])
          await touch(op, { token });
        await touch("updateMe", { token, body: { bio: "adopted as is" } });
        const ledger = await touch("getLedger", { token, query: { limit: "100" } });
        const held = (json(ledger.body).data.items as { amount: number }[]).reduce(
          (sum, e) => sum + e.amount,
          0,
        );
        const dep = await touch("requestDeposit", {
          token,
          body: { amount: 100, senderName: "Legacy" },
        });
        const approved = await touch("approveDeposit", {
          params: { id: json(dep.body).data.id },
          token: admin,
        });
        const wd = await touch("requestWithdrawal", {
          token,
          body: { amount: 1, destination: "IBAN" },
        });
        if (checks.includes("user.balance.ambiguous")) {
          // Not an integer number of minor units: no money moves on it, and the answer says why.
          expect({ id, ...refusal(approved) }).toEqual({
            id,
            status: 409,
            code: "BALANCE_NOT_MIGRATED",
          });
          expect(json(approved.body).error?.message).toContain("bun run migrate");
          const fresh = contract.drift.splice(drifted);
          expect(fresh.length).toBeGreaterThan(0);
          for (const d of fresh)
            expect(d).toMatch(/ 200: body \/data\/(user\/)?wallet\/balance must be integer$/);
          asStored.push(...fresh);
        } else if (checks.includes("user.balance.negative")) {
          // Below zero: no debit is allowed; a credit is, and its ledger still sums to it.
          expect({ id, ...refusal(wd) }).toEqual({ id, status: 409, code: "INSUFFICIENT_FUNDS" });
          expect(approved.status).toBe(200);
          expected.set(id, held + 100);
        } else {
          expect(approved.status).toBe(200);
          expect(wd.status).toBe(201);
          expected.set(id, (expected.get(id) ?? 0) + 100);
        }
      }
      // An unverifiable hash, or an email whose lower-cased form is another account's.
      else expect({ id, checks, status }).toEqual({ id, checks, status: 401 });
    }
    expect(statuses.filter((s) => Number(s.split(" ")[1]) >= 500)).toEqual([]);
    expect(contract.drift).toEqual([]);
    console.log(
      `[adoption] ${users.size} users left for a decision, ${statuses.length} calls: ${
        statuses.filter((s) => s.endsWith(" 200") || s.endsWith(" 201")).length
      } served, ${statuses.filter((s) => /\s4\d\d$/.test(s)).length} refused with a 4xx, 0 5xx; ${
        asStored.length
      } answers show a refused (float) balance as stored`,
    );
  }, 30_000);

  test("afterwards, for every user whose money the migration adopted: ledger = balance, none negative, cache = MongoDB", async () => {
    const users = stack.stores.db.collection("users");
    const balanceOf = async (id: string) => {
      const doc = await users.findOne({ _id: new ObjectId(id) });
      return (doc?.wallet as { balance?: number } | undefined)?.balance;
    };
    const adoptable = fixture.adoptable.map((u) => u.id);
    await assertMoneyInvariants(stack, adoptable);
    for (const id of adoptable)
      expect({ id, balance: await balanceOf(id) }).toEqual({ id, balance: expected.get(id) });
    // The negative ones: their ledger sums to what they hold, still below zero, still reported.
    const negative = fixture.reported.filter((r) => r.check === "user.balance.negative");
    for (const { id } of negative) {
      const balance = await balanceOf(id);
      expect({ id, balance }).toEqual({ id, balance: expected.get(id) });
      expect(balance).toBeLessThan(0);
      const ledger = await stack.stores.db.collection("ledger").find({ userId: new ObjectId(id) });
      const sum = ledger.reduce((s, e) => s + Number(e.amount), 0);
      expect({ id, sum }).toEqual({ id, sum: balance as number });
    }
    const after = await runDoctor(stack.stores.db);
    const count = (id: string) => after.checks.find((c) => c.id === id)?.count;
    expect(count("user.ledger.mismatch")).toBe(0);
    expect(count("user.balance.negative")).toBe(negative.length);
    console.log(
      `[adoption] ${fixture.users} users migrated: money invariants hold for all ${adoptable.length} adoptable; ${negative.length} negative balances kept, ledgered and reported; ${contract.calls} calls checked against /openapi.json`,
    );
  }, 30_000);
});
