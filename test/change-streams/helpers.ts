import { ObjectId } from "bson";
import { type Collection, type Document, MongoClient } from "mongodb";
import { userKey } from "../../plugins/cache/cache-sync";
import type { Plugin } from "../../src/core/plugin";
import { type MongoWireServer, startMongoWire } from "../support/mongo-wire";
import { type RedisHarness, startRedis } from "../support/redis-server";
import { createTestStack, type TestStack } from "../support/stack";

/** Servers shared by the stacks of one file: a one-node replica set (or MONGO_URL) and Redis. */
export interface StreamServers {
  mongo?: MongoWireServer;
  redis: RedisHarness;
  url: string;
  /** An outside writer: the official driver straight on MongoDB, no cachesync in between. */
  client: MongoClient;
  close(): Promise<void>;
}

export async function startStreamServers(): Promise<StreamServers> {
  const mongo = process.env.MONGO_URL ? undefined : await startMongoWire({ replSet: "rs0" });
  const redis = await startRedis();
  const url = process.env.MONGO_URL ?? (mongo as MongoWireServer).url;
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
  await client.connect();
  return {
    mongo,
    redis,
    url,
    client,
    async close() {
      await client.close();
      await mongo?.close();
      await redis.stop();
    },
  };
}

/** An API instance with change streams on, waiting until its consumer streams (or stands by). */
export async function streamStack(
  servers: StreamServers,
  opts: { dbName?: string; plugins?: Plugin[]; env?: Record<string, string | number> } = {},
): Promise<TestStack> {
  const stack = await createTestStack({
    mongo: servers.mongo,
    redis: servers.redis,
    dbName: opts.dbName,
    plugins: opts.plugins,
    env: { CHANGE_STREAMS: "on", ...opts.env },
  });
  await until(() => {
    const s = stack.ctx.use("changeStreams").report().state;
    return s === "streaming" || s === "standby";
  }, 10_000);
  return stack;
}

export function outsideUsers(servers: StreamServers, stack: TestStack): Collection<Document> {
  return servers.client.db(stack.dbName).collection("users");
}

/** The cached user entry (null: miss, tombstone or lease). */
export async function cached(stack: TestStack, id: string): Promise<Document | null> {
  const raw = await stack.stores.cache.get(userKey(stack.config.CACHE_PREFIX, id));
  return raw ? (JSON.parse(raw) as Document) : null;
}

export async function stored(stack: TestStack, id: string): Promise<Document | null> {
  return stack.ctx.stores.db.collection("users").findOne({ _id: new ObjectId(id) });
}

/** True when the cache holds nothing for the user or exactly MongoDB's sanitized document. */
export async function cacheMatchesDb(stack: TestStack, id: string): Promise<boolean> {
  const [entry, doc] = await Promise.all([cached(stack, id), stored(stack, id)]);
  if (!entry) return true;
  if (!doc) return false;
  const fresh = stack.ctx.use("cacheEngine").sanitize(doc);
  return Bun.deepEquals(JSON.parse(JSON.stringify(fresh)), entry);
}

/** Polls `check` every 20 ms; rejects after `ms` with what it was waiting for. */
export async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await check()) return performance.now() - started;
    if (performance.now() - started > ms) throw new Error(`condition not met within ${ms} ms`);
    await Bun.sleep(20);
  }
}
