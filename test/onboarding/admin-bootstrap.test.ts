import { expect, test } from "bun:test";
import { appWithLogs } from "./log-capture";

const WARN = 40;

test("ADMIN_EMAIL without ADMIN_PASSWORD: a warning saying no admin was created", async () => {
  const app = await appWithLogs({ ADMIN_EMAIL: "boss@example.com" });
  await app.ready();
  await app.close();
  const line = app.logs.find((l) => l.msg.includes("ADMIN_EMAIL is set without ADMIN_PASSWORD"));
  expect(line?.level).toBe(WARN);
});

test("ADMIN_PASSWORD without ADMIN_EMAIL: a warning too", async () => {
  const app = await appWithLogs({ ADMIN_PASSWORD: "boss-password" });
  await app.ready();
  await app.close();
  expect(app.logs.some((l) => l.level === WARN && l.msg.includes("without ADMIN_EMAIL"))).toBe(
    true,
  );
});

test("an admin created with no float is told that approvals need one; with a float, not", async () => {
  const env = { ADMIN_EMAIL: "boss@example.com", ADMIN_PASSWORD: "boss-password" };
  const bare = await appWithLogs(env);
  await bare.ready();
  await bare.close();
  expect(bare.logs.some((l) => l.msg === "admin account created")).toBe(true);
  expect(bare.logs.some((l) => l.level === WARN && l.msg.includes("ADMIN_INITIAL_BALANCE"))).toBe(
    true,
  );

  const funded = await appWithLogs({ ...env, ADMIN_INITIAL_BALANCE: 100_000 });
  await funded.ready();
  await funded.close();
  expect(funded.logs.some((l) => l.msg.includes("ADMIN_INITIAL_BALANCE"))).toBe(false);
  expect(funded.logs.some((l) => l.msg.includes("without ADMIN_PASSWORD"))).toBe(false);
});
