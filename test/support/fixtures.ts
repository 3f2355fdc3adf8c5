import Redis, { Cluster } from "ioredis";
import { userKey } from "../../plugins/cache/cache-sync/keys";
import type { SanitizedUser } from "../../plugins/features/users";
import type { AuthUser } from "../../src/core/app-env";
import { seedUser } from "./seed";
import type { TestStack } from "./stack";

export interface TestUser {
  id: string;
  email: string;
  role: AuthUser["role"];
  token: string;
}

/** A user seeded through the hooked repository (`seedUser`: versioned and sanitized), with a JWT. */
export async function createUser(
  stack: TestStack,
  opts: { role?: AuthUser["role"]; balance?: number } = {},
): Promise<TestUser> {
  const role = opts.role ?? "user";
  const user = await seedUser(stack.ctx, {
    role,
    wallet: { balance: opts.balance ?? 1000, currency: "USD" },
  });
  const token = await stack.ctx.use("auth").issueToken({ id: user.id, role, email: user.email });
  return { id: user.id, email: user.email, role, token };
}

/**
 * A raw ioredis client on the stack's Redis, for tampering with entries behind the app's back
 * (a Cluster client under REDIS_TOPOLOGY=cluster: single-key commands only there).
 */
export function rawRedis(stack: TestStack): Redis | Cluster {
  if (!stack.redis) throw new Error("stack has no Redis harness");
  const topology = stack.redis.adapter.topology;
  if (topology?.mode === "cluster") return new Cluster(topology.nodes);
  return new Redis(stack.redis.url, { maxRetriesPerRequest: 1 });
}

/** KEYS on every master of a cluster, or on the one server (test-side cross-checks only). */
export async function rawKeys(redis: Redis | Cluster, pattern: string): Promise<string[]> {
  await redis.exists(pattern); // a first command: a cluster client knows its masters after it
  const nodes = redis instanceof Cluster ? redis.nodes("master") : [redis];
  return (await Promise.all(nodes.map((n) => n.keys(pattern)))).flat();
}

export const userKeyOf = (stack: TestStack, id: string) => userKey(stack.config.CACHE_PREFIX, id);

/** Rewrites the cached balance in Redis directly (a stale entry the app did not write). */
export async function tamperBalance(
  stack: TestStack,
  redis: Redis | Cluster,
  id: string,
  balance: number,
): Promise<void> {
  const key = userKeyOf(stack, id);
  const raw = await redis.get(key);
  if (!raw) throw new Error(`no cache entry for ${id} to tamper with`);
  const entry = JSON.parse(raw) as SanitizedUser;
  entry.wallet = { ...entry.wallet, balance };
  const ttl = await redis.pttl(key);
  await redis.set(key, JSON.stringify(entry), "PX", ttl > 0 ? ttl : 60_000);
}
