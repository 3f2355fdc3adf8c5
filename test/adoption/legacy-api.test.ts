import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Decimal128, ObjectId } from "bson";
import { type MongoWireServer, startMongoWire } from "../support/mongo-wire";
import { type RedisHarness, startRedis } from "../support/redis-server";
import { createTestStack, type TestStack } from "../support/stack";
import { ADMIN_ENV, callJson, loginAdmin } from "../support/users";
import { LEGACY_PASSWORD } from "./legacy-fixture";

let mongo: MongoWireServer | undefined;
let redis: RedisHarness;
let stack: TestStack;
let admin: string;
const dbName = `cs_test_legacy_${Math.random().toString(36).slice(2, 8)}`;

beforeAll(async () => {
  redis = await startRedis();
  if (!process.env.MONGO_URL) mongo = await startMongoWire();
  stack = await createTestStack({
    redis,
    mongo,
    dbName,
    env: { ...ADMIN_ENV, ADMIN_INITIAL_BALANCE: 100_000, MONGO_TIMEOUT_MS: 5000 },
  });
  admin = await loginAdmin(stack);
});
afterAll(async () => {
  await stack?.close();
  await mongo?.close();
  await redis?.stop();
});

const hash = await Bun.password.hash(LEGACY_PASSWORD, { algorithm: "bcrypt", cost: 4 });
let n = 0;
/** A user document as the original app wrote it, with the given odd shape. */
async function legacyUser(shape: Record<string, unknown>) {
  n++;
  const doc: Record<string, unknown> = {
    _id: new ObjectId(),
    email: `odd${n}@old.example`,
    username: `odd${n}`,
    passwordHash: hash,
    role: "user",
    displayName: `Odd ${n}`,
    wallet: { balance: 5000, currency: "USD" },
    createdAt: new Date(),
    ...shape,
  };
  await stack.stores.db.collection("users").insertOne(doc as { _id: ObjectId });
  const login = await callJson(stack, "POST", "/api/v1/auth/login", {
    body: { email: doc.email, password: LEGACY_PASSWORD },
  });
  return { id: String(doc._id), token: login.body.data?.token as string, status: login.status };
}

const shapes: Record<string, Record<string, unknown>> = {
  "no version": {},
  "a float balance": { wallet: { balance: 50.25, currency: "USD" } },
  "a string balance": { wallet: { balance: "75.10", currency: "USD" } },
  "a Decimal128 balance": { wallet: { balance: Decimal128.fromString("12.30"), currency: "USD" } },
  "no wallet": { wallet: undefined },
  "odd field types": { bio: 42, displayName: null, avatarUrl: ["x"], createdAt: "2020-01-01" },
};

describe("the API on documents that break the invariants (before `bun run migrate`)", () => {
  for (const [name, shape] of Object.entries(shapes)) {
    test(`a user with ${name}: login, profile, public view, money — never a 500, nothing half-applied`, async () => {
      const u = await legacyUser(shape);
      expect(u.status).toBe(200);
      const statuses: number[] = [];
      const me = await callJson(stack, "GET", "/api/v1/users/me", { token: u.token });
      statuses.push(me.status);
      statuses.push((await stack.call("GET", `/api/v1/users/${u.id}`)).status);
      const dep = await callJson(stack, "POST", "/api/v1/deposits/request", {
        token: u.token,
        body: { amount: 1000, senderName: "Legacy" },
      });
      statuses.push(dep.status);
      const adminBefore = (await callJson(stack, "GET", "/api/v1/users/me", { token: admin })).body
        .data.user.wallet.balance;
      if (dep.status === 201) {
        const ok = await callJson(stack, "PUT", `/api/v1/deposits/${dep.body.data.id}/approve`, {
          token: admin,
          body: {},
        });
        statuses.push(ok.status);
        const row = await stack.stores.db
          .collection("deposits")
          .findOne({ _id: new ObjectId(dep.body.data.id) });
        const adminAfter = (await callJson(stack, "GET", "/api/v1/users/me", { token: admin })).body
          .data.user.wallet.balance;
        if (ok.status === 200) expect(adminAfter).toBe(adminBefore - 1000);
        else {
          expect(ok.status).toBe(409);
          expect(ok.body.error?.message).toContain("bun run migrate");
          expect(adminAfter).toBe(adminBefore);
          expect(row?.status).toBe("pending");
        }
      }
      const wd = await callJson(stack, "POST", "/api/v1/withdrawals/request", {
        token: u.token,
        body: { amount: 10, destination: "IBAN DE00" },
      });
      statuses.push(wd.status);
      expect(statuses.filter((s) => s >= 500)).toEqual([]);
    });
  }
});
