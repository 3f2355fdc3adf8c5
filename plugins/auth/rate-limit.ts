import type { Context } from "hono";
import { getConnInfo } from "hono/bun";
import type { AppEnv } from "../../src/core/app-env";
import { appError } from "../../src/core/errors";
import type { PluginContext } from "../../src/core/plugin";

/**
 * The client address: the socket's peer, or with `trustProxy` the left-most X-Forwarded-For hop.
 * Without a proxy in front, X-Forwarded-For is attacker-controlled, hence off by default.
 */
export function clientIp(c: Context<AppEnv>, trustProxy: boolean): string | null {
  if (trustProxy) {
    const xff = c.req.header("x-forwarded-for")?.split(",")[0]?.trim();
    if (xff) return xff;
  }
  try {
    return getConnInfo(c).remote.address ?? null;
  } catch {
    // app.request() in tests and embedding hosts have no socket.
    return null;
  }
}

/**
 * Fixed-window counters per email and per IP. When the cache is unreachable the limiter fails
 * open (logins keep working on MongoDB alone) and says so in the log.
 */
export async function enforceLoginLimit(
  ctx: PluginContext,
  email: string,
  ip: string | null,
): Promise<void> {
  const { CACHE_PREFIX, LOGIN_RATE_LIMIT, LOGIN_RATE_WINDOW_SECONDS } = ctx.config;
  const keys = [`${CACHE_PREFIX}rl:login:email:${email}`];
  if (ip) keys.push(`${CACHE_PREFIX}rl:login:ip:${ip}`);
  let counts: number[];
  try {
    counts = await Promise.all(
      keys.map((k) => ctx.cache.incrWithExpiry(k, LOGIN_RATE_WINDOW_SECONDS)),
    );
  } catch (err) {
    ctx.logger.warn({ err }, "login rate limiter unavailable; failing open");
    return;
  }
  if (counts.some((n) => n > LOGIN_RATE_LIMIT))
    throw appError("RATE_LIMITED", "Too many login attempts, try again later");
}
