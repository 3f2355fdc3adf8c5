import { expect, test } from "bun:test";
import { appWithLogs } from "./log-capture";

test("MongoDB down at start-up, the cache up: the log blames MongoDB, never a 'redis circuit'", async () => {
  // Nothing listens on port 1; the embedded cache answers. The default MONGO_TIMEOUT_MS (longer
  // than the breaker's cooldown) lets the probe run, half-open and re-open while start-up waits.
  const app = await appWithLogs({ MONGO_URL: "mongodb://127.0.0.1:1" });
  await expect(app.ready()).rejects.toThrow("Database unavailable");
  await app.close();
  const messages = app.logs.map((l) => l.msg);
  expect(messages.some((m) => m.includes("redis circuit"))).toBe(false);
  // Every transition (open, the probe's half-open and re-open) names the store that failed.
  const circuit = messages.filter((m) => m.includes("circuit"));
  expect(circuit.filter((m) => !m.includes("MongoDB"))).toEqual([]);
  expect(messages).toContain(
    "cache circuit open: MongoDB unavailable at start-up, earlier cache repairs not settled",
  );
});
