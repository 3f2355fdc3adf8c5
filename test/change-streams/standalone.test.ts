/**
 * A standalone MongoDB (the test server without --replSet, as a single mongod): with
 * CHANGE_STREAMS=auto one warning and nothing else changes; with `on` a clear start-up error.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { appWithLogs } from "../onboarding/log-capture";
import { type MongoWireServer, startMongoWire } from "../support/mongo-wire";
import { seedUser } from "../support/seed";

let wire: MongoWireServer;
beforeAll(async () => {
  wire = await startMongoWire();
});
afterAll(() => wire.close());

const WARN = 40;
const env = (extra: Record<string, string | number>) => ({
  MONGO_URL: wire.url,
  MONGO_DB: `cs_standalone_${Math.random().toString(36).slice(2, 8)}`,
  ...extra,
});

test("auto: one warning, the periodic check still runs, /ready reports it unsupported", async () => {
  const app = await appWithLogs(
    env({ CHANGE_STREAMS: "auto", CONSISTENCY_CHECK_INTERVAL_SECONDS: 1 }),
  );
  try {
    await app.ready();
    const user = await seedUser(app.ctx);
    await app.ctx.use("cacheSync").getUserWithSync(user.id);
    const mentions = app.logs.filter((l) => /change stream/i.test(l.msg));
    expect(mentions.length).toBe(1);
    expect(mentions[0]?.level).toBe(WARN);
    expect(mentions[0]?.msg).toContain("standalone");
    const ready = await app.app.request("/ready");
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { data: { changeStream: unknown } }).data.changeStream).toEqual(
      {
        mode: "unsupported",
      },
    );
    // The periodic check is untouched by it: a round runs within its interval.
    const checked = () =>
      app.ctx.metrics.registry.getSingleMetricAsString("cachesync_consistency_checked_total");
    const before = await checked();
    const deadline = Date.now() + 5000;
    while ((await checked()) === before && Date.now() < deadline) await Bun.sleep(100);
    expect(await checked()).not.toBe(before);
  } finally {
    await app.close();
  }
});

test("on: start-up fails with a clear coded error", async () => {
  const app = await appWithLogs(env({ CHANGE_STREAMS: "on" }));
  try {
    const err = (await app.ready().catch((e: unknown) => e)) as { code?: string; message?: string };
    expect(err.code).toBe("CS_ERR_CHANGE_STREAMS_UNSUPPORTED");
    expect(err.message).toContain("replica set");
  } finally {
    await app.close();
  }
});

test("off: not even a warning", async () => {
  const app = await appWithLogs(env({ CHANGE_STREAMS: "off" }));
  try {
    await app.ready();
    expect(app.logs.filter((l) => /change stream/i.test(l.msg))).toEqual([]);
  } finally {
    await app.close();
  }
});
