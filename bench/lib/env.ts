import Redis from "ioredis";
import { MongoClient } from "mongodb";
import { createTestStack, type TestStack } from "../../test/support/stack";
import { seedUser } from "../../test/support/seed";
import { startMongoWire, type MongoWireServer } from "../../test/support/mongo-wire";
import { startRedis, type RedisHarness } from "../../test/support/redis-server";
import type { SanitizedUser } from "../../src/domain/user";

/**
 * One redis-server (owned: killable) and one MongoDB wire-protocol test server per section, and
 * the whole app on them through the real adapters (RedisCacheStore, MongoDocumentStore on the
 * official driver). Sections measure peers and floors on the same two servers.
 */
export interface BenchEnv {
  redis: RedisHarness;
  mongo: MongoWireServer;
  stack: TestStack;
  close(): Promise<void>;
}

export async function startEnv(opts: { env?: Record<string, string | number | boolean | undefined> } = {}): Promise<BenchEnv> {
  const redis = await startRedis();
  const mongo = await startMongoWire();
  const stack = await createTestStack({ redis, mongo, env: { LOG_LEVEL: "silent", ...opts.env } });
  return {
    redis,
    mongo,
    stack,
    async close() {
      await stack.close().catch(() => {});
      await mongo.close().catch(() => {});
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
export function seedBenchUser(stack: TestStack, over: Record<string, unknown> = {}): Promise<SanitizedUser> {
  return seedUser(stack.ctx, { bio: BIO, avatarUrl: "https://cdn.example.com/avatars/a1b2c3d4e5f6.png", ...over });
}

/** A plain ioredis client on the harness server, configured like the adapter's command client. */
export function floorRedis(url: string, autoPipelining: boolean): Redis {
  const client = new Redis(url, { enableAutoPipelining: autoPipelining, maxRetriesPerRequest: 0, enableOfflineQueue: true });
  client.on("error", () => {});
  return client;
}

export async function rawMongo(url: string): Promise<MongoClient> {
  const client = new MongoClient(url);
  await client.connect();
  return client;
}

export const sleep = (ms: number) => Bun.sleep(ms);
