import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import { createUserSanitizer } from "../../plugins/cache/sanitize";
import { type DoctorReport, runDoctor } from "../../plugins/operations/adoption/doctor/scan";
import { MongoDocumentStore } from "../../src/adapters/mongo/mongo-document-store";
import { appWithLogs } from "../onboarding/log-capture";
import { type MongoWireServer, startMongoWire } from "../support/mongo-wire";
import { createTestStack } from "../support/stack";
import { ADMIN_ENV, callJson, loginAdmin, registerUser } from "../support/users";
import { type LegacyFixture, writeLegacyDatabase } from "./legacy-fixture";

let mongo: MongoWireServer | undefined;
let url: string;
let db: MongoDocumentStore;
let fixture: LegacyFixture;
const dbName = `cs_test_adopt_${Math.random().toString(36).slice(2, 8)}`;

beforeAll(async () => {
  if (!process.env.MONGO_URL) mongo = await startMongoWire();
  url = process.env.MONGO_URL ?? (mongo as MongoWireServer).url;
  fixture = await writeLegacyDatabase(url, dbName, undefined, { nestedSecrets: true });
  db = await MongoDocumentStore.connect({ url, dbName, timeoutMs: 5000 });
});
afterAll(async () => {
  await db?.close();
  await mongo?.close();
});

describe("bun run doctor on a database the original app wrote", () => {
  test("reports each problem with its count, and is not ok", async () => {
    const report = await runDoctor(db, { batchSize: 64 });
    const counts = Object.fromEntries(report.checks.map((c) => [c.id, c.count]));
    for (const [id, n] of Object.entries(fixture.expected))
      expect({ id, n: counts[id] }).toEqual({ id, n });
    expect(counts["user.ledger.in-flight"]).toBe(0);
    expect(report.scanned.users).toBe(fixture.users);
    expect(report.ok).toBe(false);
  });
});

describe("sensitive-looking fields, at any depth", () => {
  const tally = (report: DoctorReport, check: string) => {
    const out: Record<string, number> = {};
    for (const f of report.findings)
      if (f.check === check) out[f.detail ?? ""] = (out[f.detail ?? ""] ?? 0) + 1;
    return out;
  };

  test("reported by dotted path wherever the sanitizer would let them through", async () => {
    const report = await runDoctor(db);
    // `twoFA.secret` and `refreshTokens.token` are not there: every user has them, under
    // top-level fields the sanitizer hides whole.
    expect(tally(report, "user.field.sensitive-name")).toEqual({
      resetPasswordToken: 6,
      apiSecret: 6,
      "auth.refreshTokens": 4,
      "security.totp.secret": 4,
      "devices.pushToken": 4,
    });
    expect(tally(report, "user.field.code-name")).toEqual({
      referralCode: 4,
      "security.recoveryCodes": 4,
    });
  });

  test("one list: SENSITIVE_FIELDS means to the doctor what it means to the sanitizer", async () => {
    // A name hides its whole subtree, a dotted path the subtree it reaches: neither is reported,
    // since neither is shown.
    const report = await runDoctor(db, { sensitive: ["auth", "security.totp", "apiSecret"] });
    expect(tally(report, "user.field.sensitive-name")).toEqual({
      resetPasswordToken: 6,
      "devices.pushToken": 4,
    });
    const nested = await db.collection("users").findOne({ "auth.provider": "google" });
    const shown = createUserSanitizer(["auth", "security.totp", "apiSecret"])(
      nested as Record<string, unknown>,
    ) as unknown as Record<string, unknown>;
    expect(shown.auth).toBeUndefined();
    expect((shown.security as { totp?: unknown }).totp).toBeUndefined();
  });
});

describe("GET /api/v1/admin/doctor", () => {
  test("admins get the same report, the affected documents page by page; others 401/403", async () => {
    const stack = await createTestStack({
      mongo,
      dbName,
      env: { ...ADMIN_ENV, MONGO_TIMEOUT_MS: 5000 },
    });
    try {
      const admin = await loginAdmin(stack);
      const first = await callJson(stack, "GET", "/api/v1/admin/doctor?limit=50", { token: admin });
      expect(first.status).toBe(200);
      const counts = Object.fromEntries(
        (first.body.data.checks as { id: string; count: number }[]).map((c) => [c.id, c.count]),
      );
      expect(counts["user.version.missing"]).toBeGreaterThanOrEqual(fixture.users);
      expect(first.body.data.ok).toBe(false);
      expect(first.body.data.items).toHaveLength(50);
      const second = await callJson(
        stack,
        "GET",
        `/api/v1/admin/doctor?limit=50&cursor=${first.body.data.nextCursor}`,
        { token: admin },
      );
      expect(second.body.data.items[0]).not.toEqual(first.body.data.items[0]);
      // The pages after the first come from its scan: a user added meanwhile is in the next scan
      // (a call without a cursor), not in the pages of this one.
      await stack.stores.db
        .collection("users")
        .insertOne({ _id: new ObjectId(), email: "late@old.example", username: "late" });
      const third = await callJson(
        stack,
        "GET",
        `/api/v1/admin/doctor?limit=50&cursor=${second.body.data.nextCursor}`,
        { token: admin },
      );
      expect(third.body.data.checks).toEqual(first.body.data.checks);
      const rescan = await callJson(stack, "GET", "/api/v1/admin/doctor?limit=1", { token: admin });
      const missing = (r: typeof first) =>
        (r.body.data.checks as { id: string; count: number }[]).find(
          (c) => c.id === "user.version.missing",
        )?.count;
      expect(missing(rescan)).toBe((missing(first) ?? 0) + 1);
      // A cursor whose scan is unknown here (expired, another instance) scans again.
      const elsewhere = await callJson(
        stack,
        "GET",
        "/api/v1/admin/doctor?limit=1&cursor=0123456789abcdef.1",
        { token: admin },
      );
      expect(elsewhere.body.data.checks).toEqual(rescan.body.data.checks);
      const bad = await callJson(stack, "GET", "/api/v1/admin/doctor?cursor=x", { token: admin });
      expect(bad.status).toBe(400);
      const user = await registerUser(stack);
      expect((await stack.call("GET", "/api/v1/admin/doctor", { token: user.token })).status).toBe(
        403,
      );
      expect((await stack.call("GET", "/api/v1/admin/doctor")).status).toBe(401);
    } finally {
      await stack.close();
    }
  }, 30_000);

  test("an app booted on the legacy database warns once, naming the doctor; on a clean one, never", async () => {
    // The server's own plugin list and start-up path (onReady), logs captured.
    const boot = async (name: string) => {
      const app = await appWithLogs({ MONGO_URL: url, MONGO_DB: name, MONGO_TIMEOUT_MS: 5000 });
      try {
        await app.ready();
        // Requests after start-up do not repeat it.
        for (const path of ["/ready", "/health", "/api/v1/users/me"]) await app.app.request(path);
        return app.logs.filter((l) => l.msg.includes("bun run doctor"));
      } finally {
        await app.close();
      }
    };
    const warned = await boot(dbName);
    expect(warned).toHaveLength(1);
    expect(warned[0]?.level).toBe(40); // pino's warn
    expect(warned[0]?.msg).toContain("run `bun run doctor`");

    const fresh = await createTestStack({ mongo, env: { MONGO_TIMEOUT_MS: 5000 } });
    try {
      await registerUser(fresh);
      expect(await boot(fresh.dbName)).toEqual([]);
    } finally {
      await fresh.close();
    }
  }, 30_000);
});

describe("the doctor as an operator runs it", () => {
  const doctor = (db: string) =>
    Bun.spawn(["bun", "run", "app/cli/doctor.ts"], {
      env: { ...process.env, MONGO_URL: url, MONGO_DB: db, LOG_LEVEL: "silent" },
      stdout: "pipe",
      stderr: "pipe",
    });

  test("`bun run doctor` prints the report and exits 2 on blocking problems, 0 on a clean database", async () => {
    const broken = doctor(dbName);
    const text = await new Response(broken.stdout).text();
    expect(await broken.exited).toBe(2);
    expect(text).toContain("[blocking] user.version.missing");
    expect(text).toContain("NOT OK");

    // A database cachesync itself wrote: the API's indexes, users registered through it.
    const fresh = await createTestStack({ mongo, env: { MONGO_TIMEOUT_MS: 5000 } });
    try {
      await registerUser(fresh);
      const clean = doctor(fresh.dbName);
      const out = await new Response(clean.stdout).text();
      expect(await clean.exited).toBe(0);
      expect(out).toContain("OK: nothing blocks correct operation.");
    } finally {
      await fresh.close();
    }
  }, 30_000);

  test("without MONGO_URL it says there is nothing to check, exit 1", async () => {
    const env: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: "silent" };
    delete env.MONGO_URL;
    const p = Bun.spawn(["bun", "run", "app/cli/doctor.ts"], { env, stderr: "pipe" });
    expect(await p.exited).toBe(1);
    expect(await new Response(p.stderr).text()).toContain("MONGO_URL is not set");
  }, 30_000);
});
