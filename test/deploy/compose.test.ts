import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ConfigError, loadConfig, makeConfig } from "../../src/core/config";

/**
 * docker-compose.yml is not run by CI (no Docker engine), so its security properties are checked
 * on the file itself (SPEC §8): no usable secret in it, stores reachable only on the compose
 * network, and the API's environment valid in production once the operator supplies secrets.
 */
type Service = {
  ports?: string[];
  environment?: Record<string, string>;
  stop_grace_period?: string;
};
const compose = Bun.YAML.parse(
  await Bun.file(join(import.meta.dir, "../../docker-compose.yml")).text(),
) as { services: Record<string, Service> };

const SECRET_NAME = /SECRET|PASSWORD|TOKEN/;

/** Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}` against an operator's `.env`. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_, name: string, op, arg: string) => {
    const v = env[name];
    if (v) return v;
    if (op === "?") throw new Error(`compose refuses to start: ${name}: ${arg}`);
    return op === "-" ? arg : "";
  });
}

describe("docker-compose.yml", () => {
  test("MongoDB and Redis publish no port beyond the host's loopback", () => {
    for (const name of ["mongo", "redis"]) {
      const ports = compose.services[name]?.ports ?? [];
      for (const p of ports) expect(p).toStartWith("127.0.0.1:");
    }
  });

  test("no secret has a value or a non-empty default in the file", () => {
    for (const [service, def] of Object.entries(compose.services)) {
      for (const [name, value] of Object.entries(def.environment ?? {})) {
        if (!SECRET_NAME.test(name)) continue;
        const what = `${service}.${name} = ${value}`;
        // Required from the environment, or empty (feature off) when absent.
        expect(what).toMatch(new RegExp(`= \\$\\{${name}(:\\?[^}]*|:-)\\}$`));
      }
    }
  });

  test("without secrets compose refuses to start; with strong ones the API config is valid in production", () => {
    const api = compose.services.api?.environment ?? {};
    const resolve = (env: Record<string, string>) =>
      Object.fromEntries(Object.entries(api).map(([k, v]) => [k, interpolate(String(v), env)]));
    expect(() => resolve({})).toThrow("JWT_SECRET");
    const cfg = loadConfig(
      resolve({
        JWT_SECRET: "k3Jx9-qWz2Lr7Yb5Vn8Tc4Hs6Pd1Mf0Ga-Ue4Rt",
        ADMIN_PASSWORD: "Zq8-Wm2Xp5Lk9Rv3Nt6Yh1Bc7Df4Gs0Jj",
      }),
    );
    expect(cfg.NODE_ENV).toBe("production");
    expect(cfg.MONGO_URL).toStartWith("mongodb://mongo:");
    let refused: unknown;
    try {
      loadConfig(resolve({ JWT_SECRET: "change-me-change-me-change-me", ADMIN_PASSWORD: "x" }));
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(ConfigError);
  });

  test("the stop grace period covers the drain delay and the close timeout", () => {
    const grace = Number.parseInt(compose.services.api?.stop_grace_period ?? "10s", 10) * 1000;
    const d = makeConfig({});
    expect(grace).toBeGreaterThan(d.SHUTDOWN_DELAY_MS + d.SHUTDOWN_TIMEOUT_MS);
  });
});
