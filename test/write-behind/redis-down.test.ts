import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort } from "../support/free-port";
import { forgetRedisProcess, ownsRedis, spawnRedis } from "../support/redis-server";
import { createTestStack, type TestStack } from "../support/stack";
import { newListing, storedViews } from "./support";

const CLIENTS = 16;

async function changesByPath(stack: TestStack): Promise<Record<string, number>> {
  const metric = stack.ctx.metrics.registry.getSingleMetric("cachesync_write_behind_changes_total");
  const out: Record<string, number> = {};
  for (const v of (await metric?.get())?.values ?? [])
    out[String(v.labels.path)] = (out[String(v.labels.path)] ?? 0) + v.value;
  return out;
}

/**
 * Redis SIGKILLed while views stream in, then restarted on its append-only file (as production
 * runs it). The policy (WRITE_BEHIND_REDIS_DOWN=direct): while Redis is unreachable each view is
 * written to MongoDB at once; a view caught in flight by the kill answers 503 and counts at most
 * once. Measured: acknowledged views lost = 0, none counted twice.
 */
describe("write-behind with Redis killed", () => {
  let proc: Subprocess | undefined;
  let stack: TestStack;
  let port: number;
  let dir: string;
  const bin = Bun.which("redis-server");
  const aof = ["--appendonly", "yes", "--appendfsync", "always"];

  beforeAll(async () => {
    if (!ownsRedis || !bin) return;
    port = await freePort();
    dir = mkdtempSync(join(tmpdir(), "cs-wb-aof-"));
    proc = await spawnRedis(bin, port, aof, dir);
    stack = await createTestStack({
      env: {
        REDIS_URL: `redis://127.0.0.1:${port}`,
        WRITE_BEHIND_FLUSH_MS: 200,
        REDIS_TIMEOUT_MS: 1000,
        MONGO_TIMEOUT_MS: 5000,
        BREAKER_COOLDOWN_MS: 200,
      },
    });
  });
  afterAll(async () => {
    await stack?.close();
    proc?.kill("SIGKILL");
    await proc?.exited;
    if (proc) forgetRedisProcess(proc);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test.if(ownsRedis && !!Bun.which("redis-server"))(
    "acknowledged views: 0 lost (written to MongoDB directly while Redis is down), none twice",
    async () => {
      const id = await newListing(stack.ctx.stores.db);
      let acked = 0;
      let refused = 0;
      let done = false;
      const client = async () => {
        while (!done) {
          const res = await stack.call("POST", `/api/v1/listings/${id}/view`);
          await res.arrayBuffer();
          if (res.status === 200) acked++;
          else refused++;
          // Paced, so the outage sees a steady stream rather than one burst.
          await Bun.sleep(2);
        }
      };
      const clients = Array.from({ length: CLIENTS }, client);
      while (acked < 400) await Bun.sleep(5);
      proc?.kill("SIGKILL");
      await proc?.exited;
      if (proc) forgetRedisProcess(proc);
      const atKill = acked;
      await Bun.sleep(1000);
      const duringOutage = acked - atKill;
      proc = await spawnRedis(bin as string, port, aof, dir);
      const atRestart = acked;
      while (acked < atRestart + 400) await Bun.sleep(5);
      done = true;
      await Promise.all(clients);

      // Drained: Redis answering again (the client reconnects by itself), the queue it kept on its
      // append-only file flushed to the last entry.
      const wb = stack.ctx.use("writeBehind");
      const queue = `${stack.config.CACHE_PREFIX}wb:queue`;
      const deadline = Date.now() + 20_000;
      for (;;) {
        const left = await wb
          .flush()
          .then(() => stack.ctx.stores.cache.streamBacklog(queue))
          .then((b) => b.length)
          .catch(() => -1);
        if (left === 0) break;
        if (Date.now() > deadline) throw new Error(`queue not drained (backlog ${left})`);
        await Bun.sleep(100);
      }
      const total = await storedViews(stack.ctx.stores.db, id);
      const paths = await changesByPath(stack);
      console.log(
        `[write-behind] Redis killed after ${atKill} views: ${duringOutage} acknowledged during the 1 s outage; ${acked} acknowledged, ${refused} answered 503; ${total} in MongoDB (lost ${Math.max(0, acked - total)}); paths ${JSON.stringify(paths)}`,
      );
      expect(duringOutage).toBeGreaterThan(0);
      expect(paths.direct ?? 0).toBeGreaterThan(0);
      expect(total).toBeGreaterThanOrEqual(acked); // loss 0
      expect(total).toBeLessThanOrEqual(acked + refused); // none twice
    },
    60_000,
  );
});
