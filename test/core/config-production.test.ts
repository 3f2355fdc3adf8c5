import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig, secretWeakness } from "../../src/core/config";

/** SPEC §8: production refuses placeholder secrets and per-process embedded stores. */
const STRONG = "k3Jx9-qWz2Lr7Yb5Vn8Tc4Hs6Pd1Mf0Ga-Ue";
const PROD = {
  NODE_ENV: "production",
  JWT_SECRET: STRONG,
  MONGO_URL: "mongodb://mongo:27017",
  REDIS_URL: "redis://redis:6379",
};

const refusal = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
};

describe("production configuration", () => {
  test("a strong secret on real stores is accepted", () => {
    expect(loadConfig(PROD).JWT_SECRET).toBe(STRONG);
  });

  test.each([
    ["change-me-change-me-change-me-change-me", "is a placeholder value"],
    ["my-jwt-secret-CHANGEME-before-deploying-it", "is a placeholder value"],
    ["secret", "is a placeholder value"],
    ["Password", "is a placeholder value"],
    ["x".repeat(64), "is a single repeated character"],
    ["A1b2C3d4E5f6G7h8", "must be at least 32 characters"],
  ])("JWT_SECRET, ADMIN_PASSWORD and METRICS_TOKEN %p → %s", (value, why) => {
    expect(secretWeakness(value)).toBe(why);
    for (const variable of ["JWT_SECRET", "ADMIN_PASSWORD", "METRICS_TOKEN"]) {
      const issues = refusal({ ...PROD, ADMIN_EMAIL: "a@example.test", [variable]: value });
      expect(issues.map((i) => i.variable)).toContain(variable);
    }
  });

  test("the same weak values are accepted outside production (development, tests)", () => {
    expect(refusal({ JWT_SECRET: "change-me-change-me", ADMIN_PASSWORD: "password" })).toEqual([]);
  });

  test("embedded stores are refused unless ALLOW_EMBEDDED_STORES=1", () => {
    const { MONGO_URL: _m, REDIS_URL: _r, ...embedded } = PROD;
    expect(refusal(embedded).map((i) => i.variable)).toEqual(["MONGO_URL", "REDIS_URL"]);
    expect(refusal({ ...PROD, REDIS_URL: "" }).map((i) => i.variable)).toEqual(["REDIS_URL"]);
    expect(refusal({ ...embedded, ALLOW_EMBEDDED_STORES: "1" })).toEqual([]);
    // A Redis Cluster or Sentinel is Redis too.
    expect(
      refusal({ ...embedded, MONGO_URL: PROD.MONGO_URL, REDIS_CLUSTER_NODES: "r1:7000" }),
    ).toEqual([]);
  });
});
