import { expect, test } from "bun:test";
import { appWithLogs } from "./log-capture";

test("MongoDB down at start-up, the cache up: the log blames MongoDB, never a 'redis circuit'", async () => {
  // Nothing listens on port 1; the embedded cache answers.
  const app = await appWithLogs({ MONGO_URL: "mongodb://127.0.0.1:1", MONGO_TIMEOUT_MS: 300 });
  await expect(app.ready()).rejects.toThrow("Database unavailable");
  await app.close();
  const messages = app.logs.map((l) => l.msg);
  expect(messages.some((m) => m.includes("redis circuit"))).toBe(false);
  expect(messages).toContain(
    "cache circuit open: MongoDB unavailable at start-up, earlier cache repairs not settled",
  );
});
