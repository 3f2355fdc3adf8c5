/**
 * Where the spawned `bun run migrate` finds its stores; `redis` is a harness's store settings
 * (`REDIS_URL`, or the cluster's or sentinels' variables under `REDIS_TOPOLOGY`); none: no Redis.
 */
export interface MigrateTarget {
  mongoUrl: string;
  dbName: string;
  prefix: string;
  redis?: Readonly<Record<string, string>>;
}

/** `bun run migrate` as an operator runs it: its own process, its own connections. */
export function migrateProcess(target: MigrateTarget, ...args: string[]) {
  const env: Record<string, string | undefined> = {
    ...process.env,
    MONGO_URL: target.mongoUrl,
    MONGO_DB: target.dbName,
    CACHE_PREFIX: target.prefix,
    MONGO_TIMEOUT_MS: "5000",
    // A loaded machine: a Redis command timing out would only make a test slower to read.
    REDIS_TIMEOUT_MS: "2000",
    LOG_LEVEL: "warn",
    NODE_ENV: "test",
    JWT_SECRET: "test-secret-test-secret-0123456789",
  };
  for (const name of ["REDIS_URL", "REDIS_CLUSTER_NODES", "REDIS_SENTINELS"]) delete env[name];
  Object.assign(env, target.redis);
  return Bun.spawn(["bun", "run", "app/cli/migrate.ts", ...args], {
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
}

/**
 * The report `bun run migrate` prints last, as one pretty-printed object: progress lines and log
 * lines (one JSON object each, e.g. a Cluster client's first commands) may come before it.
 */
export function migrateReport<T>(stdout: string): T {
  return JSON.parse(stdout.slice(stdout.search(/^\{$/m))) as T;
}
