import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MongoDocumentStore } from "../../src/adapters/mongo/mongo-document-store";
import type { MongoWireServer } from "../support/mongo-wire";
import { startMongoWire } from "../support/mongo-wire";
import { ownsRedis, type RedisHarness, startRedis } from "../support/redis-server";
import { type ServerProcess, startServerProcess } from "../support/server-process";
import { newListing, storedViews } from "./support";

const CLIENTS = 16;

/**
 * The API as a child process, SIGKILLed while views stream in (batches queued, read, being
 * written), then started again. Every view it acknowledged reaches MongoDB, none twice: the new
 * process takes over the dead one's unacknowledged batch (XAUTOCLAIM) and the per-document guard
 * makes a batch MongoDB already had a no-op.
 */
describe("write-behind across an API crash", () => {
  let redis: RedisHarness;
  let mongo: MongoWireServer | undefined;
  let db: MongoDocumentStore;
  let server: ServerProcess | undefined;
  const dbName = `wb_crash_${crypto.randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    redis = await startRedis();
    if (!process.env.MONGO_URL) mongo = await startMongoWire();
    db = await MongoDocumentStore.connect({
      url: process.env.MONGO_URL ?? (mongo as MongoWireServer).url,
      dbName,
      timeoutMs: 5000,
    });
  });
  afterAll(async () => {
    await server?.kill();
    await db?.close();
    await mongo?.close();
    await redis?.stop();
  });

  const start = () =>
    startServerProcess({
      ...redis.env,
      MONGO_URL: process.env.MONGO_URL ?? (mongo as MongoWireServer).url,
      MONGO_DB: dbName,
      CACHE_PREFIX: `${redis.prefix}`,
      NODE_ENV: "test",
      JWT_SECRET: "crash-test-secret-crash-test-secret-0123",
      REDIS_TIMEOUT_MS: "3000",
      MONGO_TIMEOUT_MS: "5000",
      WRITE_BEHIND_FLUSH_MS: "50",
      WRITE_BEHIND_BATCH_SIZE: "40",
      WRITE_BEHIND_CLAIM_IDLE_MS: "1000",
    });

  test.if(ownsRedis || !!process.env.REDIS_URL)(
    "SIGKILL mid-stream and restart: every acknowledged view counted, none twice",
    async () => {
      const id = await newListing(db);
      let url = "";
      let acked = 0;
      let unknown = 0;
      let phase: "run" | "paused" | "done" = "run";
      const client = async () => {
        while (phase !== "done") {
          if (phase === "paused") {
            await Bun.sleep(10);
            continue;
          }
          try {
            const res = await fetch(`${url}/api/v1/listings/${id}/view`, { method: "POST" });
            await res.arrayBuffer();
            if (res.status === 200) acked++;
            else unknown++;
          } catch {
            // Cut by the kill: it may or may not have been queued.
            unknown++;
          }
        }
      };
      server = await start();
      url = server.url;
      const clients = Array.from({ length: CLIENTS }, client);
      while (acked < 600) await Bun.sleep(5);
      await server.kill();
      phase = "paused";
      const atKill = acked;
      server = await start();
      url = server.url;
      phase = "run";
      while (acked < atKill + 600) await Bun.sleep(5);
      phase = "done";
      await Promise.all(clients);

      // Drained: the queue empty (the dead batch taken over after its idle time) and MongoDB stable.
      const deadline = Date.now() + 20_000;
      let total = await storedViews(db, id);
      for (;;) {
        const ready = await (await fetch(`${url}/ready`)).json();
        const stored = await storedViews(db, id);
        if (ready.data?.writeBehind?.depth === 0 && stored === total && stored >= acked) break;
        total = stored;
        if (Date.now() > deadline) break;
        await Bun.sleep(200);
      }
      total = await storedViews(db, id);
      console.log(
        `[write-behind] API SIGKILLed after ${atKill} acknowledged views: ${acked} acknowledged, ${unknown} cut or refused, ${total} in MongoDB`,
      );
      expect(total).toBeGreaterThanOrEqual(acked); // none lost
      expect(total).toBeLessThanOrEqual(acked + unknown); // none twice
      const shown = await (
        await fetch(`${url}/api/v1/listings/${id}/view`, { method: "POST" })
      ).json();
      expect(shown.data.viewCount).toBe(total + 1);
    },
    60_000,
  );
});
