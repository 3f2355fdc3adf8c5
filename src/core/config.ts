import { z } from "zod";
import type { SetupErrorCode } from "./errors";

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
      "`production` refuses a missing, placeholder or short (< 32) `JWT_SECRET` / `ADMIN_PASSWORD` / `METRICS_TOKEN` and the embedded stores; `test` uses a light password-hash cost",
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
  SENSITIVE_FIELDS: csv.describe(
    "extra comma-separated user fields never cached or returned: names, or dotted paths into sub-documents and arrays of them (`auth.refreshTokens`)",
  ),
  JWT_SECRET: z
    .string()
    .min(16, "must be at least 16 characters")
    .optional()
    .describe(
      "JWT signing key; unset: a random one per process, with a warning (tokens die on restart); production: required, ≥ 32 characters, no placeholder",
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
  LOGIN_MAX_FAILS_PER_ACCOUNT_IP: int(1, 10_000)
    .default(10)
    .describe(
      "consecutive failed logins on one account from one client address before that pair is paused (a success resets it)",
    ),
  LOGIN_MAX_FAILS_PER_IP: int(1, 1_000_000)
    .default(100)
    .describe(
      "failed logins from one client address, any account, per `LOGIN_FAILS_WINDOW_SECONDS`",
    ),
  LOGIN_FAILS_WINDOW_SECONDS: int(1, 30 * 86_400)
    .default(86_400)
    .describe("how long failed logins are remembered"),
  LOGIN_BLOCK_SECONDS: int(1, 86_400)
    .default(900)
    .describe("pause once over a login limit (answered 429 with `Retry-After`)"),
  REGISTER_RATE_LIMIT: int(1, 1_000_000)
    .default(10)
    .describe("registrations per client address per `REGISTER_RATE_WINDOW_SECONDS`"),
  REGISTER_RATE_WINDOW_SECONDS: int(1, 86_400).default(600).describe("registration window"),
  PASSWORD_HASH_CONCURRENCY: int(1, 64)
    .default(1)
    .describe("argon2 hashes of new passwords running at once (a burst queues, logins do not)"),
  PASSWORD_VERIFY_CONCURRENCY: int(1, 256)
    .default(4)
    .describe("argon2 login verifications running at once (64 MiB each)"),
  TRUST_PROXY: int(0, 10)
    .default(0)
    .describe(
      "reverse proxies in front that append to `X-Forwarded-For`; the client is the entry that many from the right (`0`: the socket's address, the header is ignored)",
    ),
  MAX_BODY_BYTES: int(1024, 64 * 1024 * 1024)
    .default(1024 * 1024)
    .describe("request body cap: larger bodies get 413 before they are read"),
  IDLE_TIMEOUT_SECONDS: int(1, 255)
    .default(30)
    .describe("close connections silent this long, stalled uploads included (SSE streams exempt)"),
  SHUTDOWN_DELAY_MS: int(0, 120_000)
    .default(5000)
    .describe(
      "SIGTERM: `/ready` answers 503 and requests are still served this long before closing",
    ),
  METRICS_TOKEN: z
    .string()
    .optional()
    .describe("when set, `GET /metrics` needs `Authorization: Bearer <token>`"),
  ALLOW_EMBEDDED_STORES: bool(false).describe(
    "allow the embedded in-process stores when `NODE_ENV=production` (refused otherwise)",
  ),
  CHANGE_STREAMS: z
    .enum(["auto", "on", "off"])
    .default("auto")
    .describe(
      "apply writes made straight to MongoDB to the cache from its change stream; `auto`: where supported (replica set, sharded cluster, embedded store), else off with one warning; `on`: refuse to start without",
    ),
  CONSISTENCY_CHECK_INTERVAL_SECONDS: int(0, 7 * 86_400)
    .default(3600)
    .describe(
      "periodic validate-and-repair of sampled cache entries, every cached collection (`0`: off)",
    ),
  CONSISTENCY_CHECK_SAMPLE: int(1, 100_000)
    .default(100)
    .describe("documents sampled per cached collection in each consistency round"),
  OBSERVATORY_SAMPLE_RATE: z.coerce
    .number()
    .min(0)
    .max(1)
    .default(0.01)
    .describe(
      "share of acknowledged user writes the consistency observatory re-checks against MongoDB (`0`: off; docs/OBSERVATORY.md)",
    ),
  OBSERVATORY_BOUNDS_MS: z
    .string()
    .default("100,1000,10000")
    .transform((v) => v.split(",").map((s) => Number(s.trim())))
    .refine(
      (a) =>
        a.length > 0 &&
        a.every(
          (n, i) =>
            Number.isInteger(n) && n > 0 && n <= 600_000 && (i === 0 || n > (a[i - 1] as number)),
        ),
      "must be increasing whole milliseconds, comma-separated (1 to 600000)",
    )
    .describe("when a sampled write is re-checked, in ms after its acknowledgement"),
  OTEL_TRACES: bool(false).describe(
    "OpenTelemetry spans (HTTP, engine, Redis, MongoDB) through the OTel API; the host registers the SDK and exporter (docs/TRACING.md)",
  ),
  NEAR_CACHE: csv.describe(
    "collections with an in-process near cache in front of Redis, e.g. `users,listings` (off by default; docs/NEAR-CACHE.md)",
  ),
  NEAR_CACHE_MAX_ENTRIES: int(1, 10_000_000)
    .default(10_000)
    .describe("near cache: entries kept per collection (LRU)"),
  NEAR_CACHE_MAX_BYTES: int(1024, 4 * 1024 * 1024 * 1024)
    .default(64 * 1024 * 1024)
    .describe("near cache: bytes kept per collection (LRU, JSON size)"),
  NEAR_CACHE_TTL_MS: int(100, 86_400_000)
    .default(60_000)
    .describe("near cache: an entry is never served longer than this"),
  NEAR_CACHE_HEARTBEAT_MS: int(10, 60_000)
    .default(200)
    .describe("near cache: feed heartbeat interval"),
  NEAR_CACHE_FEED_TIMEOUT_MS: int(50, 600_000)
    .default(1000)
    .describe(
      "near cache: no feed heartbeat for this long and every near cache is bypassed until the feed is read forward again",
    ),
  OBSERVATORY_MAX_PENDING: int(1, 1_000_000)
    .default(1000)
    .describe("sampled writes re-checked at once; beyond, samples are dropped (counted)"),
  SSE_HEARTBEAT_MS: int(100, 600_000).default(15_000).describe("SSE heartbeat comment interval"),
  SSE_MAX_PER_USER: int(1, 1000)
    .default(5)
    .describe("SSE streams per user; the oldest is closed beyond"),
  SSE_MAX_PER_IP: int(1, 100_000)
    .default(50)
    .describe("SSE streams per client address; beyond, new streams get 429"),
  SSE_REPLAY_MAXLEN: int(10, 1_000_000)
    .default(10_000)
    .describe("events kept for `Last-Event-ID` replay"),
  SSE_MAX_QUEUE: int(1, 100_000)
    .default(256)
    .describe("frames a slow SSE client may lag before it is cut"),
  WRITE_BEHIND: bool(true).describe(
    "queue the declared high-rate, non-money fields (`users.lastSeenAt`, listing `viewCount`) in a Redis Stream and write them to MongoDB in batches (`false`: each change is a direct MongoDB write)",
  ),
  WRITE_BEHIND_FLUSH_MS: int(10, 60_000)
    .default(1000)
    .describe("write-behind: how often the queue is flushed to MongoDB"),
  WRITE_BEHIND_BATCH_SIZE: int(1, 5000)
    .default(1000)
    .describe("write-behind: queue entries per MongoDB `bulkWrite` (coalesced per document)"),
  WRITE_BEHIND_MAX_QUEUE: int(10, 10_000_000)
    .default(100_000)
    .describe(
      "write-behind: unflushed entries the queue may hold; beyond, changes are written to MongoDB directly (back-pressure)",
    ),
  WRITE_BEHIND_CLAIM_IDLE_MS: int(100, 600_000)
    .default(30_000)
    .describe(
      "write-behind: the flusher lease; once it lapses (its API instance died) the next flusher takes over the unflushed batch before anything new",
    ),
  WRITE_BEHIND_LAG_BOUND_SECONDS: int(1, 86_400)
    .default(60)
    .describe(
      "write-behind: `/ready` reports `degraded` when the oldest unflushed change is older",
    ),
  WRITE_BEHIND_REDIS_DOWN: z
    .enum(["direct", "drop"])
    .default("direct")
    .describe(
      "write-behind with Redis unreachable: `direct` writes the change to MongoDB at once (nothing lost), `drop` discards it and counts it",
    ),
  LAST_SEEN_INTERVAL_SECONDS: int(1, 86_400)
    .default(60)
    .describe(
      "`users.lastSeenAt` moves at most once per this many seconds per user (per instance)",
    ),
  SHUTDOWN_TIMEOUT_MS: int(100, 120_000)
    .default(10_000)
    .describe("SIGTERM/SIGINT: exit 1 if closing takes longer"),
  METRICS_ENABLED: bool(true).describe(
    "serve `GET /metrics` and collect process metrics (`false`: 404)",
  ),
});

export type Config = z.infer<typeof envSchema>;

export class ConfigError extends Error {
  readonly code: SetupErrorCode = "CS_ERR_CONFIG";
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
  if (cfg.NODE_ENV === "production") {
    const issues = productionIssues(cfg);
    if (issues.length) throw new ConfigError(issues);
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

const SECRETS = ["JWT_SECRET", "ADMIN_PASSWORD", "METRICS_TOKEN"] as const;

/**
 * Production refuses what a careless deployment ships with: a missing JWT secret, placeholder or
 * weak secrets, and embedded stores that several instances would each keep their own copy of.
 */
function productionIssues(cfg: Config): { variable: string; message: string }[] {
  const issues: { variable: string; message: string }[] = [];
  if (!cfg.JWT_SECRET)
    issues.push({ variable: "JWT_SECRET", message: "is required when NODE_ENV=production" });
  for (const name of SECRETS) {
    const value = cfg[name];
    const weakness = value === undefined ? undefined : secretWeakness(value);
    if (weakness)
      issues.push({ variable: name, message: `${weakness} (refused when NODE_ENV=production)` });
  }
  if (!cfg.ALLOW_EMBEDDED_STORES) {
    const why =
      "is required when NODE_ENV=production: embedded in-process stores are per process, so instances would serve each other's stale data (ALLOW_EMBEDDED_STORES=1 to run on them anyway)";
    if (!cfg.MONGO_URL) issues.push({ variable: "MONGO_URL", message: why });
    const redis = cfg.REDIS_URL ?? cfg.REDIS_CLUSTER_NODES ?? cfg.REDIS_SENTINELS;
    if (redis === undefined) issues.push({ variable: "REDIS_URL", message: why });
  }
  return issues;
}

const PLACEHOLDERS = ["secret", "password", "changeme", "changethis", "example", "default"];

/** Why a secret is too weak for production, or undefined when it is acceptable. */
export function secretWeakness(value: string): string | undefined {
  const folded = value.toLowerCase().replace(/[^a-z0-9]/g, "");
  if (/change.?(me|this)/i.test(value) || PLACEHOLDERS.includes(folded))
    return "is a placeholder value";
  if (new Set(value).size === 1) return "is a single repeated character";
  if (value.length < 32) return "must be at least 32 characters";
  return undefined;
}

/** A config for tests and embedding: defaults plus overrides, validated the same way. */
export function makeConfig(
  overrides: Record<string, string | number | boolean | undefined> = {},
): Config {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) env[k] = String(v);
  return loadConfig(env);
}
