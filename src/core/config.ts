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
const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .optional()
  .transform((v) => v === "true" || v === "1" || v === "yes");

/**
 * Every setting comes from the environment (SPEC §6). Empty strings count as unset so that
 * `MONGO_URL=` in a compose file means "embedded", not "malformed".
 */
export const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: int(0, 65535).default(3000),
  HOST: z.string().default("0.0.0.0"),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  MONGO_URL: urlWithScheme(["mongodb:", "mongodb+srv:"]).optional(),
  MONGO_DB: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,63}$/, "must be a valid database name")
    .default("cachesync"),
  MONGO_TIMEOUT_MS: int(50, 60_000).default(2000),
  REDIS_URL: urlWithScheme(["redis:", "rediss:"]).optional(),
  REDIS_TIMEOUT_MS: int(5, 10_000).default(150),
  CACHE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_.-]{0,32}$/, "only letters, digits and : _ . - (max 32)")
    .default("cs:"),
  CACHE_TTL_SECONDS: int(1, 86_400).default(3600),
  CACHE_TTL_JITTER_PCT: int(0, 50).default(10),
  CACHE_MARKER_TTL_MS: int(100, 600_000).default(10_000),
  BREAKER_FAILURE_THRESHOLD: int(1, 1000).default(3),
  BREAKER_COOLDOWN_MS: int(50, 600_000).default(1000),
  SENSITIVE_FIELDS: csv,
  JWT_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
  JWT_TTL_SECONDS: int(60, 30 * 86_400).default(86_400),
  ADMIN_EMAIL: z.string().email().optional(),
  ADMIN_PASSWORD: z.string().min(8, "must be at least 8 characters").optional(),
  /** Float credited once (ledgered) to the bootstrapped admin: approvals debit the admin's wallet. */
  ADMIN_INITIAL_BALANCE: int(0, 1_000_000_000_000).default(0),
  LOGIN_RATE_LIMIT: int(1, 10_000).default(10),
  LOGIN_RATE_WINDOW_SECONDS: int(1, 86_400).default(60),
  CONSISTENCY_CHECK_INTERVAL_SECONDS: int(0, 7 * 86_400).default(3600),
  CONSISTENCY_CHECK_SAMPLE: int(1, 100_000).default(100),
  SSE_HEARTBEAT_MS: int(100, 600_000).default(15_000),
  SSE_MAX_PER_USER: int(1, 1000).default(5),
  SSE_REPLAY_MAXLEN: int(10, 1_000_000).default(10_000),
  SSE_MAX_QUEUE: int(1, 100_000).default(256),
  SHUTDOWN_TIMEOUT_MS: int(100, 120_000).default(10_000),
  METRICS_ENABLED: bool,
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
  return cfg;
}

/** A config for tests and embedding: defaults plus overrides, validated the same way. */
export function makeConfig(
  overrides: Record<string, string | number | boolean | undefined> = {},
): Config {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) env[k] = String(v);
  return loadConfig(env);
}
