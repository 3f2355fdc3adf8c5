/**
 * The HTTP floor: a bare Hono route reading what GET /users/me reads — the cached user and its
 * list entries (listings, favorites) — with one MGET, JSON.parse and c.json, on the same
 * redis-server and keys, served by Bun.serve in its own process.
 * Env: PORT, HOST, REDIS_URL or REDIS_CLUSTER_NODES, BENCH_KEY (the user), BENCH_LIST_KEYS (comma-separated).
 */
import { Hono } from "hono";
import { floorClient, readKeys } from "../lib/floor-client";

const redis = floorClient(process.env, true);
const key = process.env.BENCH_KEY as string;
const keys = [key, ...(process.env.BENCH_LIST_KEYS ?? "").split(",").filter(Boolean)];
const app = new Hono();
app.get("/health", (c) => c.json({ ok: true }));
app.get("/bare", async (c) => {
  const [user, ...lists] = await readKeys(redis, keys);
  if (!user) return c.json({ success: false }, 404);
  return c.json({
    success: true,
    data: { user: JSON.parse(user), lists: lists.map((l) => (l ? JSON.parse(l) : null)) },
  });
});
Bun.serve({
  port: Number(process.env.PORT),
  hostname: process.env.HOST ?? "127.0.0.1",
  fetch: app.fetch,
  idleTimeout: 0,
});
