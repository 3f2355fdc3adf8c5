import { MongoClient } from "mongodb";
import type { SanitizedUser } from "../../plugins/features/users";
import type { MongoWireServer } from "../../test/support/mongo-wire";
import type { RedisHarness } from "../../test/support/redis-server";
import { seedUser } from "../../test/support/seed";
import { createTestStack, type TestStack } from "../../test/support/stack";
import { type FloorClient, floorClient } from "./floor-client";
import { freePort } from "./procs";
import { startBenchRedis } from "./topology";

/**
 * One Redis (a redis-server, or a Redis Cluster in the runner's cluster pass: lib/topology.ts) and one MongoDB wire-protocol test server per section, and
 * the whole app on them through the real adapters (RedisCacheStore, MongoDocumentStore on the
 * official driver). Sections measure peers and floors on the same two servers.
 */
export interface BenchEnv {
  redis: RedisHarness;
  /** The wire-protocol test server, in its own `bun` process (see startMongoProcess). */
  mongo: { url: string; pid: number };
  stack: TestStack;
  close(): Promise<void>;
}

export async function startEnv(
  opts: {
    env?: Record<string, string | number | boolean | undefined>;
    /** Extra test-server flags, e.g. `["--replSet", "rs0"]` for change streams. */
    mongoArgs?: string[];
  } = {},
): Promise<BenchEnv> {
  const redis = await startBenchRedis();
  const mongo = await startMongoProcess(opts.mongoArgs);
  const stack = await createTestStack({
    redis,
    mongo: { url: mongo.url } as MongoWireServer,
    env: { LOG_LEVEL: "silent", ...opts.env },
  });
  return {
    redis,
    mongo: { url: mongo.url, pid: mongo.pid },
    stack,
    async close() {
      await stack.close().catch(() => {});
      await mongo.stop().catch(() => {});
      await redis.stop().catch(() => {});
    },
  };
}

/** ~300 characters of prose: with the rest of a seeded user, the cached JSON is ~600 bytes. */
export const BIO =
  "Collector of vintage synthesizers and field recorders. Selling a few duplicates from my studio " +
  "move: everything tested, photos on request, happy to ship with tracking. Based near the river " +
  "market most weekends; pickup welcome. Ask about bundles and trades for old tape machines, please.";

/** A user seeded through the hooked repository, with a ~600-byte sanitized JSON. */
export function seedBenchUser(
  stack: TestStack,
  over: Record<string, unknown> = {},
): Promise<SanitizedUser> {
  return seedUser(stack.ctx, {
    bio: BIO,
    avatarUrl: "https://cdn.example.com/avatars/a1b2c3d4e5f6.png",
    ...over,
  });
}

/** A plain ioredis client on the section's Redis (any topology), configured like the adapter's. */
export function floorRedis(redis: RedisHarness, autoPipelining: boolean): FloorClient {
  return floorClient(redis.env, autoPipelining);
}

export async function rawMongo(url: string): Promise<MongoClient> {
  const client = new MongoClient(url);
  await client.connect();
  return client;
}

/**
 * The MongoDB wire-protocol test server (test/support/mongo-wire/cli.ts) in its own process: run
 * in the bench process it would share an event loop with the code under test, and every
 * microsecond of client-side work would also slow the "database" down.
 */
export async function startMongoProcess(args: string[] = []): Promise<{
  url: string;
  pid: number;
  stop(): Promise<void>;
}> {
  const port = await freePort();
  const cli = ["bun", "run", "test/support/mongo-wire/cli.ts", "--port", String(port), ...args];
  const proc = Bun.spawn(cli, {
    cwd: `${import.meta.dir}/../..`,
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const reader = proc.stdout.getReader();
  let out = "";
  const deadline = Date.now() + 15_000;
  while (!out.includes("mongodb://")) {
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`mongo-wire test server did not start: ${out}`);
    }
    const { value, done } = await reader.read();
    if (done)
      throw new Error(
        `mongo-wire test server exited: ${out} ${await new Response(proc.stderr).text()}`,
      );
    out += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  void proc.stdout.pipeTo(new WritableStream()).catch(() => {});
  void proc.stderr.pipeTo(new WritableStream()).catch(() => {});
  const url = (/mongodb:\/\/\S+/.exec(out) as RegExpExecArray)[0];
  return {
    url,
    pid: proc.pid,
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 3000);
      await proc.exited;
      clearTimeout(t);
    },
  };
}

export const sleep = (ms: number) => Bun.sleep(ms);
