import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../../src/core/config";

describe("configuration", () => {
  test("defaults: embedded stores, 1 h TTL, cs: prefix", () => {
    const c = loadConfig({});
    expect(c.MONGO_URL).toBeUndefined();
    expect(c.CACHE_TTL_SECONDS).toBe(3600);
    expect(c.CACHE_PREFIX).toBe("cs:");
  });

  test.each([
    [{ CACHE_TTL_SECONDS: "90000" }, "CACHE_TTL_SECONDS"],
    [{ MONGO_URL: "http://nope" }, "MONGO_URL"],
    [{ MONGO_URL: "not a url" }, "MONGO_URL"],
    [{ REDIS_URL: "mongodb://x" }, "REDIS_URL"],
    [{ PORT: "-1" }, "PORT"],
    [{ NODE_ENV: "production" }, "JWT_SECRET"],
  ])("%p is refused naming %s", (env, variable) => {
    let err: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(variable);
  });

  test("bun start exits non-zero naming the variable", async () => {
    for (const [k, v] of [
      ["CACHE_TTL_SECONDS", "90000"],
      ["MONGO_URL", "mongo:/bad"],
    ] as const) {
      const proc = Bun.spawn(["bun", "run", "app/server.ts"], {
        env: { ...process.env, [k]: v, PORT: "0" },
        stderr: "pipe",
        stdout: "pipe",
      });
      const code = await proc.exited;
      const stderr = await new Response(proc.stderr).text();
      expect(code).not.toBe(0);
      expect(stderr).toContain(k);
    }
  }, 30_000); // two `bun start`s: slow on a loaded machine
});
