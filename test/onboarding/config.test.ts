import { expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../../src/core/config";
import { createTestStack } from "../support";

const refusal = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
};

test.each(["trace", "debug", "info", "warn", "error", "fatal", "silent"])(
  "LOG_LEVEL=%s (every pino level) is accepted",
  (level) => {
    expect(loadConfig({ LOG_LEVEL: level }).LOG_LEVEL).toBe(level);
  },
);

test.each(["0.0.0.0", "127.0.0.1", "::", "::1", "localhost", "api.internal"])(
  "HOST=%s is accepted",
  (host) => {
    expect(loadConfig({ HOST: host }).HOST).toBe(host);
  },
);

test.each(["bad host", "http://0.0.0.0", "300.1.1.1", "1.2.3", "a_b"])(
  "HOST=%p is refused naming HOST",
  (host) => {
    expect(refusal({ HOST: host }).map((i) => i.variable)).toEqual(["HOST"]);
  },
);

test("METRICS_ENABLED: /metrics by default, a 404 when false", async () => {
  for (const [value, status] of [
    [undefined, 200],
    ["false", 404],
  ] as const) {
    const stack = await createTestStack({ stores: "memory", env: { METRICS_ENABLED: value } });
    try {
      expect((await stack.call("GET", "/metrics")).status).toBe(status);
    } finally {
      await stack.close();
    }
  }
});
