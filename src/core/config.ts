import { z } from "zod";

const urlWithScheme = (schemes: string[]) =>
  z
    .string()
    .trim()
    .refine(
      (v) => {
        try {
          const u = new URL(v);
          return schemes.includes(u.protocol) && u.host.length > 0;
        } catch {
          return false;
        }
      },
      `must be a URL starting with ${schemes.map((s) => `${s}//`).join(" or ")}`,
    );

/** `host:port` or a `redis://` / `rediss://` URL per entry (credentials and TLS from the URL). */
const redisNodes = z
  .string()
  .trim()
  .refine(
    (v) =>
      v.split(",").every((entry) => {
        const e = entry.trim();
        if (/^[A-Za-z0-9.\-_]+:\d{1,5}$/.test(e)) return true;
        try {
          const u = new URL(e);
          return (u.protocol === "redis:" || u.protocol === "rediss:") && u.host.length > 0;
        } catch {
          return false;
        }
      }),
    "must be a comma-separated list of host:port (or redis:// / rediss:// URLs)",
  );

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const csv = z
  .string()
  .optional()
  .transform((v) =>
    v
      ? v
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean)
      : [],
  );
const bool = (byDefault: boolean) =>
  z
    .enum(["true", "false", "1", "0", "yes", "no"])
    .default(byDefault ? "true" : "false")
    .transform((v) => v === "true" || v === "1" || v === "yes");

/** A bind address: an IP (v4 or v6) or a host name; digits-and-dots must be a real IPv4. */
const host = z
  .union([z.ipv4(), z.ipv6(), z.hostname()], "must be an IP address or a host name")
  .refine(
    (v) => !/^[\d.]+$/.test(v) || z.ipv4().safeParse(v).success,
    "must be a valid IPv4 address",
  );

/**
 * Every setting comes from the environment (SPEC §6). Empty strings count as unset so that
 * `MONGO_URL=` in a compose file means "embedded", not "malformed".
 *
 * Each variable is one entry ending in `.describe("…")`: the README's configuration table is
 * generated from this schema (`bun run docs:config`; defaults and limits are read from the zod
 * types) and a test fails when the two differ, so a new variable is one described line here.
 */
export const envSchema = z.object({
  NODE_ENV: z
    .enum(["development", "production", "test"])
    .default("development")
    .describe(
      "`production` refuses a missing `JWT_SECRET`; `test` uses a light password-hash cost",
    ),
  PORT: int(0, 65535).default(3000).describe("HTTP port (`0`: any free port, logged)"),
  HOST: host.default("0.0.0.0").describe("address to listen on: an IP address or a host name"),
  LOG_LEVEL: z
    .enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"])
    .default("info")
    .describe("pino log level (JSON lines on stdout)"),
  MONGO_URL: urlWithScheme(["mongodb:", "mongodb+srv:"])
    .optional()
    .describe(
      "MongoDB (`mongodb://` or `mongodb+srv://`); unset: embedded in-process store, data lost on exit",
    ),
  MONGO_DB: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,63}$/, "must be a valid database name")
    .default("cachesync")
    .describe("database name (letters, digits, `_`, `-`)"),
  MONGO_TIMEOUT_MS: int(50, 60_000)
    .default(2000)
    .describe("MongoDB server selection and per-operation timeout"),
  REDIS_URL: urlWithScheme(["redis:", "rediss:"])
    .optional()
    .describe("Redis (`redis://` or `rediss://`); unset: embedded in-process cache and bus"),
  REDIS_TIMEOUT_MS: int(5, 10_000).default(150).describe("every Redis command's timeout"),
  REDIS_CLUSTER_NODES: redisNodes
    .optional()
    .describe(
      "Redis Cluster seeds `host:port,…` (or `redis[s]://user:pass@host:port` entries); exclusive with REDIS_URL and REDIS_SENTINELS",
    ),
  REDIS_SENTINELS: redisNodes
    .optional()
    .describe("Sentinels `host:port,…` (or URLs: credentials and TLS for the data nodes)"),
  REDIS_SENTINEL_NAME: z
    .string()
    .trim()
    .min(1)
    .optional()
    .describe("the master name the sentinels monitor (required with REDIS_SENTINELS)"),
  REDIS_SENTINEL_PASSWORD: z.string().optional().describe("password of the sentinels themselves"),
  REDIS_WAIT_REPLICAS: int(0, 16)
    .optional()
    .describe(
      "replicas that must acknowledge a versioned cache write (WAIT) so a failover cannot lose it; default 1 on Cluster/Sentinel, 0 standalone",
    ),
  CACHE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_.-]{0,32}$/, "only letters, digits and : _ . - (max 32)")
    .default("cs:")
    .describe("key prefix, so deployments can share a Redis (letters, digits, `:_.-`, ≤ 32)"),
  CACHE_TTL_SECONDS: int(1, 86_400).default(3600).describe("user entry TTL"),
  CACHE_TTL_JITTER_PCT: int(0, 50)
    .default(10)
    .describe("TTL shortened by up to this many percent, at random"),
  CACHE_MARKER_TTL_MS: int(100, 600_000)
    .default(10_000)
    .describe("lifetime of an invalidation tombstone"),
  BREAKER_FAILURE_THRESHOLD: int(1, 1000)
    .default(3)
    .describe("Redis failures in a row that open the circuit"),
  BREAKER_COOLDOWN_MS: int(50, 600_000)
    .default(1000)
    .describe("open circuit: wait before probing Redis again"),
  SENSITIVE_FIELDS: csv.describe("extra comma-separated user fields never cached or returned"),
  JWT_SECRET: z
    .string()
    .min(16, "must be at least 16 characters")
    .optional()
    .describe(
      "JWT signing key; unset: a random one per process, with a warning (tokens die on restart)",
    ),
  JWT_TTL_SECONDS: int(60, 30 * 86_400)
    .default(86_400)
    .describe("token lifetime"),
  ADMIN_EMAIL: z
    .string()
    .email()
    .optional()
    .describe(
      "admin account created at start-up when absent (needs `ADMIN_PASSWORD`; warns otherwise)",
    ),
  ADMIN_PASSWORD: z
    .string()
    .min(8, "must be at least 8 characters")
    .optional()
    .describe("that admin's password, used only when the account is created"),
  ADMIN_INITIAL_BALANCE: int(0, 1_000_000_000_000)
    .default(0)
    .describe("float credited once (ledgered) to that admin: deposit approvals debit it"),
  MAX_PENDING_REQUESTS: int(1, 1_000_000)
    .default(100)
    .describe("pending deposit requests (and, separately, withdrawal requests) one user may have"),
  LOGIN_RATE_LIMIT: int(1, 10_000)
    .default(10)
    .describe("login attempts per email and per IP in the window"),
  LOGIN_RATE_WINDOW_SECONDS: int(1, 86_400).default(60).describe("login rate-limit window"),
  CHANGE_STREAMS: z
    .enum(["auto", "on", "off"])
    .default("auto")
    .describe(
      "apply writes made straight to MongoDB to the cache from its change stream; `auto`: where supported (replica set, sharded cluster, embedded store), else off with one warning; `on`: refuse to start without",
    ),
  CONSISTENCY_CHECK_INTERVAL_SECONDS: int(0, 7 * 86_400)
    .default(3600)
    .describe("periodic validate-and-repair of sampled users (`0`: off)"),
  CONSISTENCY_CHECK_SAMPLE: int(1, 100_000)
    .default(100)
    .describe("users sampled per consistency round"),
  SSE_HEARTBEAT_MS: int(100, 600_000).default(15_000).describe("SSE heartbeat comment interval"),
  SSE_MAX_PER_USER: int(1, 1000)
    .default(5)
    .describe("SSE streams per user; the oldest is closed beyond"),
  SSE_REPLAY_MAXLEN: int(10, 1_000_000)
    .default(10_000)
    .describe("events kept for `Last-Event-ID` replay"),
  SSE_MAX_QUEUE: int(1, 100_000)
    .default(256)
    .describe("frames a slow SSE client may lag before it is cut"),
  SHUTDOWN_TIMEOUT_MS: int(100, 120_000)
    .default(10_000)
    .describe("SIGTERM/SIGINT: exit 1 if closing takes longer"),
  METRICS_ENABLED: bool(true).describe(
    "serve `GET /metrics` and collect process metrics (`false`: 404)",
  ),
});

export type Config = z.infer<typeof envSchema>;

export class ConfigError extends Error {
  readonly code = "CS_ERR_CONFIG";
  constructor(readonly issues: { variable: string; message: string }[]) {
    super(
      `Invalid configuration:\n${issues.map((i) => `  ${i.variable}: ${i.message}`).join("\n")}`,
    );
    this.name = "ConfigError";
  }
}

/**
 * For a command's entry point (`bun start`, the operator CLIs): the config, or the message naming
 * each bad variable on stderr and exit 1 — never a stack trace.
 */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(1);
  }
}

/** Parse the environment; throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== "") cleaned[k] = v;
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({ variable: String(i.path[0] ?? "?"), message: i.message })),
    );
  }
  const cfg = parsed.data;
  if (cfg.NODE_ENV === "production" && !cfg.JWT_SECRET) {
    throw new ConfigError([
      { variable: "JWT_SECRET", message: "is required when NODE_ENV=production" },
    ]);
  }
  const topologyIssues = redisTopologyIssues(cfg);
  if (topologyIssues.length) throw new ConfigError(topologyIssues);
  return cfg;
}

/** One Redis topology at a time; Sentinel needs the master's name. */
function redisTopologyIssues(cfg: Config): { variable: string; message: string }[] {
  const set = (["REDIS_URL", "REDIS_CLUSTER_NODES", "REDIS_SENTINELS"] as const).filter(
    (k) => cfg[k] !== undefined,
  );
  const issues: { variable: string; message: string }[] = [];
  if (set.length > 1)
    issues.push({
      variable: set.join(", "),
      message: `only one Redis topology may be set, got ${set.join(" and ")}`,
    });
  if (cfg.REDIS_SENTINELS && !cfg.REDIS_SENTINEL_NAME)
    issues.push({ variable: "REDIS_SENTINEL_NAME", message: "is required with REDIS_SENTINELS" });
  return issues;
}

/** A config for tests and embedding: defaults plus overrides, validated the same way. */
export function makeConfig(
  overrides: Record<string, string | number | boolean | undefined> = {},
): Config {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) env[k] = String(v);
  return loadConfig(env);
}
