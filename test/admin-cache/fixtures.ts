import Redis from "ioredis";
import type { AuthUser } from "../../src/core/app-env";
import type { SanitizedUser } from "../../src/domain/user";
import { USER_COLLECTION } from "../../src/domain/user";
import type { TestStack } from "../support/stack";

export interface TestUser {
  id: string;
  email: string;
  role: AuthUser["role"];
  token: string;
}

let seq = 0;

/** A user inserted through the hooked repository (so versioned and sanitized), with a JWT. */
export async function createUser(stack: TestStack, opts: { role?: AuthUser["role"]; balance?: number } = {}): Promise<TestUser> {
  const n = `${Date.now().toString(36)}${(seq++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const role = opts.role ?? "user";
  const email = `${role}-${n}@example.test`;
  const user = (await stack.ctx.repo.collection(USER_COLLECTION).insertOne({
    email,
    username: `${role}_${n}`,
    passwordHash: "not-a-real-hash",
    role,
    displayName: `User ${n}`,
    bio: "",
    avatarUrl: "",
    wallet: { balance: opts.balance ?? 1000, currency: "USD" },
    refreshTokens: [],
    authLogs: [],
  })) as unknown as SanitizedUser;
  const token = await stack.ctx.use("auth").issueToken({ id: user.id, role, email });
  return { id: user.id, email, role, token };
}

/** A raw ioredis client on the stack's Redis, for tampering with entries behind the app's back. */
export function rawRedis(stack: TestStack): Redis {
  if (!stack.redis) throw new Error("stack has no Redis harness");
  return new Redis(stack.redis.url, { maxRetriesPerRequest: 1 });
}

export const userKeyOf = (stack: TestStack, id: string) => `${stack.config.CACHE_PREFIX}user:${id}`;

/** Rewrites the cached balance in Redis directly (a stale entry the app did not write). */
export async function tamperBalance(stack: TestStack, redis: Redis, id: string, balance: number): Promise<void> {
  const key = userKeyOf(stack, id);
  const raw = await redis.get(key);
  if (!raw) throw new Error(`no cache entry for ${id} to tamper with`);
  const entry = JSON.parse(raw) as SanitizedUser;
  entry.wallet = { ...entry.wallet, balance };
  const ttl = await redis.pttl(key);
  await redis.set(key, JSON.stringify(entry), "PX", ttl > 0 ? ttl : 60_000);
}
