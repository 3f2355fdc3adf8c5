import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { recoverWallet } from "../../plugins/features/wallet";
import { SseReader } from "../sse/sse-client";
import { freePort } from "../support/free-port";
import { type MongoWireServer, startMongoWire } from "../support/mongo-wire";
import { type RedisClusterHarness, startRedisCluster } from "../support/redis-cluster";
import { harnessOnCluster } from "../support/redis-server";
import { createTestStack, type TestStack } from "../support/stack";
import { ADMIN_EMAIL, ADMIN_PASSWORD } from "../support/users";
import { assertMoneyInvariants, fund } from "../wallet/invariants";

/**
 * Three API processes (app/server.ts, as deployed) on one Redis Cluster and one database:
 * read-after-write across instances, SSE fan-out from any instance to streams on every instance,
 * and an instance SIGKILLed in the middle of approvals (money invariants after recovery).
 * An in-process stack on the same database and cluster seeds money and checks the invariants.
 */
const ROOT = join(import.meta.dir, "..", "..");
let cluster: RedisClusterHarness;
let mongo: MongoWireServer;
let checker: TestStack;
const instances: Instance[] = [];

interface Instance {
  url: string;
  proc: Subprocess;
  call(method: string, path: string, o?: { token?: string; body?: unknown }): Promise<Response>;
}

async function startInstance(env: Record<string, string>): Promise<Instance> {
  const port = await freePort();
  const proc = Bun.spawn(["bun", "run", "app/server.ts"], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST: "127.0.0.1" },
    stdout: "ignore",
    stderr: "ignore",
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(`${url}/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline || proc.exitCode !== null)
      throw new Error(`instance on ${port} not ready`);
    await Bun.sleep(100);
  }
  return {
    url,
    proc,
    call: (method, path, o = {}) =>
      fetch(url + path, {
        method,
        headers: {
          ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
          ...(o.body !== undefined ? { "content-type": "application/json" } : {}),
        },
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
      }),
  };
}

const at = (i: number): Instance => {
  const inst = instances[i % instances.length];
  if (!inst) throw new Error("no instance");
  return inst;
};

async function json(res: Response | Promise<Response>) {
  const r = await res;
  return { status: r.status, body: (await r.json()) as { data: Record<string, never> } };
}

let seq = 0;
async function register(i: number): Promise<{ token: string; id: string }> {
  const n = `${Date.now().toString(36)}${seq++}`;
  const r = await json(
    at(i).call("POST", "/api/v1/auth/register", {
      body: { email: `i${n}@example.test`, username: `i_${n}`, password: "password-123" },
    }),
  );
  if (r.status !== 201) throw new Error(`register: ${r.status}`);
  const data = r.body.data as unknown as { token: string; user: { id: string } };
  return { token: data.token, id: data.user.id };
}

beforeAll(async () => {
  [cluster, mongo] = await Promise.all([startRedisCluster(), startMongoWire()]);
  checker = await createTestStack({
    redis: harnessOnCluster(cluster),
    mongo,
    env: { ADMIN_EMAIL, ADMIN_PASSWORD },
  });
  const env = {
    NODE_ENV: "test",
    LOG_LEVEL: "silent",
    MONGO_URL: mongo.url,
    MONGO_DB: checker.dbName,
    REDIS_CLUSTER_NODES: cluster.seeds,
    CACHE_PREFIX: checker.config.CACHE_PREFIX,
    JWT_SECRET: checker.config.JWT_SECRET ?? "",
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    CONSISTENCY_CHECK_INTERVAL_SECONDS: "0",
    REDIS_TIMEOUT_MS: "500",
    MONGO_TIMEOUT_MS: "5000",
    SSE_HEARTBEAT_MS: "1000",
    // Every test user registers from 127.0.0.1: the per-address limit is not under test here.
    REGISTER_RATE_LIMIT: "100000",
  };
  for (let i = 0; i < 3; i++) instances.push(await startInstance(env));
}, 120_000);

afterAll(async () => {
  for (const i of instances) i.proc.kill("SIGKILL");
  await checker?.close();
  await mongo?.close();
  await cluster?.stop();
});

describe("three API instances on a Redis Cluster", () => {
  test("read-after-write across instances: a write acknowledged on one is read on the others", async () => {
    const u = await register(0);
    for (let round = 0; round < 15; round++) {
      const w = await json(
        at(round).call("PATCH", "/api/v1/users/me", {
          token: u.token,
          body: { bio: `round ${round}` },
        }),
      );
      expect(w.status).toBe(200);
      const written = (w.body.data as unknown as { version: number }).version;
      expect(written).toBeGreaterThan(0);
      for (const other of [round + 1, round + 2]) {
        const r = await json(at(other).call("GET", "/api/v1/users/me", { token: u.token }));
        const user = (r.body.data as unknown as { user: { version: number; bio: string } }).user;
        expect(user.version).toBeGreaterThanOrEqual(written);
        expect(user.bio).toBe(`round ${round}`);
      }
    }
  }, 30_000);

  test("SSE fan-out: a write on one instance reaches the user's streams on every instance", async () => {
    const u = await register(1);
    const controllers = instances.map(() => new AbortController());
    const readers = await Promise.all(
      instances.map(async (inst, i) => {
        const res = await fetch(`${inst.url}/api/v1/events`, {
          headers: { authorization: `Bearer ${u.token}`, accept: "text/event-stream" },
          signal: controllers[i]?.signal,
        });
        expect(res.status).toBe(200);
        return new SseReader(res);
      }),
    );
    await Bun.sleep(300); // every instance's bus subscription is live
    const w = await at(2).call("PATCH", "/api/v1/users/me", {
      token: u.token,
      body: { displayName: "fan-out" },
    });
    expect(w.status).toBe(200);
    const deadline = Date.now() + 5000;
    const got = () => readers.map((r) => r.frames.some((f) => f.data?.includes("fan-out")));
    while (got().includes(false) && Date.now() < deadline) await Bun.sleep(50);
    for (const c of controllers) c.abort();
    expect(got()).toEqual([true, true, true]);
  }, 30_000);

  test("an instance SIGKILLed mid-approvals: every request ends paid exactly once or pending, money invariants hold", async () => {
    const login = await json(
      at(0).call("POST", "/api/v1/auth/login", {
        body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
      }),
    );
    const adminToken = (login.body.data as unknown as { token: string }).token;
    const me = await json(at(0).call("GET", "/api/v1/users/me", { token: adminToken }));
    const adminId = (me.body.data as unknown as { user: { id: string } }).user.id;
    await fund(checker, adminId, 1_000_000);
    const users = await Promise.all(Array.from({ length: 12 }, (_, i) => register(i)));
    const deposits: string[] = [];
    for (const [i, u] of users.entries()) {
      for (let k = 0; k < 3; k++) {
        const d = await json(
          at(i).call("POST", "/api/v1/deposits/request", {
            token: u.token,
            body: { amount: 100 + k, senderName: "cluster" },
          }),
        );
        expect(d.status).toBe(201);
        deposits.push((d.body.data as unknown as { id: string }).id);
      }
    }
    const victim = at(2);
    const approvals = deposits.map((id, i) =>
      at(i)
        .call("PUT", `/api/v1/deposits/${id}/approve`, { token: adminToken })
        .then(
          (r) => r.status,
          () => -1, // the killed instance's connections drop
        ),
    );
    await Bun.sleep(40);
    victim.proc.kill("SIGKILL");
    const statuses = await Promise.all(approvals);
    instances.splice(2, 1);
    // What the killed instance left half-done is finished by recovery (another instance's
    // periodic sweep in production; here, run at once with no grace period).
    await recoverWallet(checker.ctx, { graceMs: 0 });
    await assertMoneyInvariants(checker, [...users.map((u) => u.id), adminId]);
    const killed = statuses.filter((s) => s === -1).length;
    console.log(
      `[instances] ${deposits.length} approvals, ${killed} cut by the SIGKILL, statuses ${[...new Set(statuses)].join(",")}`,
    );
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
  }, 60_000);
});
