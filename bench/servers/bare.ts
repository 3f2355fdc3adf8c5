/**
 * The HTTP floor: a bare Hono route doing redis.get + JSON.parse + c.json on the same
 * redis-server and key as the app's cached user, served by Bun.serve in its own process.
 * Env: PORT, HOST, REDIS_URL, BENCH_KEY.
 */
import { Hono } from "hono";
import Redis from "ioredis";

const redis = new Redis(process.env.REDIS_URL as string, {
  enableAutoPipelining: true,
  maxRetriesPerRequest: 0,
});
const key = process.env.BENCH_KEY as string;
const app = new Hono();
app.get("/health", (c) => c.json({ ok: true }));
app.get("/bare", async (c) => {
  const raw = await redis.get(key);
  if (!raw) return c.json({ success: false }, 404);
  return c.json({ success: true, data: JSON.parse(raw) });
});
Bun.serve({
  port: Number(process.env.PORT),
  hostname: process.env.HOST ?? "127.0.0.1",
  fetch: app.fetch,
  idleTimeout: 0,
});
