/** Where the spawned `bun run migrate` finds its stores; no `redisUrl`: none configured. */
export interface MigrateTarget {
  mongoUrl: string;
  dbName: string;
  prefix: string;
  redisUrl?: string;
}

/** `bun run migrate` as an operator runs it: its own process, its own connections. */
export function migrateProcess(target: MigrateTarget, ...args: string[]) {
  const env: Record<string, string | undefined> = {
    ...process.env,
    MONGO_URL: target.mongoUrl,
    MONGO_DB: target.dbName,
    REDIS_URL: target.redisUrl,
    CACHE_PREFIX: target.prefix,
    MONGO_TIMEOUT_MS: "5000",
    // A loaded machine: a Redis command timing out would only make a test slower to read.
    REDIS_TIMEOUT_MS: "2000",
    LOG_LEVEL: "warn",
    NODE_ENV: "test",
    JWT_SECRET: "test-secret-test-secret-0123456789",
  };
  for (const name of ["REDIS_CLUSTER_NODES", "REDIS_SENTINELS"]) delete env[name];
  if (!target.redisUrl) delete env.REDIS_URL;
  return Bun.spawn(["bun", "run", "app/cli/migrate.ts", ...args], {
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
}
