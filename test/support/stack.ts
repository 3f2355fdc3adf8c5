import { defaultPlugins } from "../../app/plugins";
import { createStores } from "../../src/adapters";
import { type CachesyncApp, createApp, type Stores } from "../../src/core/app";
import { type Config, makeConfig } from "../../src/core/config";
import { StoreUnavailableError } from "../../src/core/errors";
import { createLogger } from "../../src/core/logger";
import type { Plugin } from "../../src/core/plugin";
import { dropDatabase } from "./mongo-ownership";
import { type MongoWireServer, startMongoWire } from "./mongo-wire";
import { type RedisHarness, startRedis } from "./redis-server";
import { SECRET_FIELDS } from "./seed";

export interface TestStackOptions {
  /** Config overrides (validated like the real environment). */
  env?: Record<string, string | number | boolean | undefined>;
  plugins?: Plugin[];
  /** "real" (default): official driver on MONGO_URL or the wire test server + a real Redis. */
  stores?: "real" | "memory";
  /** Share servers between stacks (two API instances on one Redis and one MongoDB). */
  redis?: RedisHarness;
  mongo?: MongoWireServer;
  /** Reuse the same database/prefix as another stack (second instance of one deployment). */
  dbName?: string;
}

export interface TestStack extends CachesyncApp {
  config: Config;
  stores: Stores;
  redis?: RedisHarness;
  mongo?: MongoWireServer;
  dbName: string;
  /** `app.request` with a JSON body and optional bearer token. */
  call(
    method: string,
    path: string,
    opts?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<Response>;
}

/**
 * A second API instance of `of`'s deployment: the same Redis, MongoDB database and key prefix,
 * with its own plugins and config overrides.
 */
export function createPeerStack(
  of: TestStack,
  opts: Omit<TestStackOptions, "redis" | "mongo" | "dbName"> = {},
): Promise<TestStack> {
  return createTestStack({
    ...opts,
    redis: of.redis,
    mongo: of.mongo,
    dbName: of.dbName,
    env: { CACHE_PREFIX: of.config.CACHE_PREFIX, ...opts.env },
  });
}

/** SCANs every key of this stack's prefix and fails if any value names a secret field. */
export async function assertNoSecretsCached(stores: Stores, prefix: string): Promise<void> {
  const offenders: string[] = [];
  await stores.cache
    .scan(`${prefix}*`, async (keys) => {
      const values = await Promise.all(keys.map((k) => stores.cache.get(k).catch(() => null)));
      values.forEach((v, i) => {
        if (v && SECRET_FIELDS.some((f) => v.includes(`"${f}"`))) offenders.push(keys[i] as string);
      });
    })
    .catch((err: unknown) => {
      // Redis deliberately down at the end of a fault test: nothing to scan.
      if (!(err instanceof StoreUnavailableError)) throw err;
    });
  if (offenders.length)
    throw new Error(`secret fields found in Redis under ${offenders.slice(0, 5).join(", ")}`);
}

const rand = () => Math.random().toString(36).slice(2, 10);

/** Open stacks per database: stacks may share one (two instances of a deployment). */
const openStacks = new Map<string, number>();

/**
 * A whole app on real services, owned by the test: each stack gets its own database and cache
 * prefix, so files can share servers. Closing it closes what it started.
 */
export async function createTestStack(opts: TestStackOptions = {}): Promise<TestStack> {
  const kind = opts.stores ?? "real";
  const dbName = opts.dbName ?? `cs_test_${rand()}`;
  let redis = opts.redis;
  let mongo = opts.mongo;
  const ownRedis = kind === "real" && !redis;
  const ownMongo = kind === "real" && !mongo && !process.env.MONGO_URL;
  if (kind === "real") {
    redis ??= await startRedis();
    if (!process.env.MONGO_URL) mongo ??= await startMongoWire();
  }
  const config = makeConfig({
    LOG_LEVEL: "silent",
    NODE_ENV: "test",
    CACHE_PREFIX: `t${dbName.slice(-8)}:`,
    JWT_SECRET: "test-secret-test-secret-0123456789",
    MONGO_TIMEOUT_MS: 1000,
    CONSISTENCY_CHECK_INTERVAL_SECONDS: 0,
    // Write-behind flushes (which move a user's version for lastSeenAt) run when a test asks
    // (`ctx.use("writeBehind").flush()`) and at close, not on a timer between a test's steps.
    WRITE_BEHIND_FLUSH_MS: 60_000,
    // The same factory as `bun start`: URLs select the real adapters, none the embedded ones.
    ...(kind === "real"
      ? { MONGO_URL: process.env.MONGO_URL ?? mongo?.url, MONGO_DB: dbName, ...redis?.env }
      : {}),
    ...opts.env,
  });
  const stores = await createStores(config, createLogger(config.LOG_LEVEL));
  const externalDb = kind === "real" && process.env.MONGO_URL ? process.env.MONGO_URL : undefined;
  openStacks.set(dbName, (openStacks.get(dbName) ?? 0) + 1);
  const instance = await createApp({ config, plugins: opts.plugins ?? defaultPlugins(), stores });
  await instance.ready();
  const close = instance.close;
  let closed = false;
  return {
    ...instance,
    config,
    stores,
    redis,
    mongo,
    dbName,
    async close() {
      if (closed) return;
      closed = true;
      // Every suite ends with a scan of its keys: no secret may have reached Redis.
      if (kind === "real") await assertNoSecretsCached(stores, config.CACHE_PREFIX).finally(close);
      else await close();
      const left = (openStacks.get(dbName) ?? 0) - 1;
      if (left > 0) openStacks.set(dbName, left);
      else if (left === 0) {
        openStacks.delete(dbName);
        // On a server we own the data dies with it; on MONGO_URL's, the last stack drops its db.
        if (externalDb) await dropDatabase(externalDb, dbName);
      }
      if (ownMongo) await mongo?.close();
      if (ownRedis) await redis?.stop();
    },
    call(method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      if (o.token) headers.authorization = `Bearer ${o.token}`;
      let body: string | undefined;
      if (o.body !== undefined) {
        headers["content-type"] ??= "application/json";
        body = typeof o.body === "string" ? o.body : JSON.stringify(o.body);
      }
      return Promise.resolve(instance.app.request(path, { method, headers, body }));
    },
  };
}
