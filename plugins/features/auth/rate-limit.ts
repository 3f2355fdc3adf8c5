import { createHash } from "node:crypto";
import { RateLimiterRes } from "rate-limiter-flexible";
import { addressBucket } from "../../../src/core/client-ip";
import { tooMany } from "../../../src/core/errors";
import type { PluginContext } from "../../../src/core/plugin";

/** What a login does around its password check. */
export interface LoginAttempt {
  /** The password was right: the failures of this address on this account are forgotten. */
  succeeded(): Promise<void>;
}

export interface AuthLimits {
  /**
   * Reserves one failure for this attempt before the password is checked (so a burst of
   * parallel guesses cannot all slip past a check-then-count), or throws 429 with Retry-After.
   */
  beginLogin(email: string, ip: string | null): Promise<LoginAttempt>;
  /** Counts a registration from this address, or throws 429 with Retry-After. */
  register(ip: string | null): Promise<void>;
}

/** Emails stay out of key names: no personal data in Redis, and a bounded key length. */
const digest = (s: string) => createHash("sha256").update(s).digest("base64url").slice(0, 22);

/**
 * Login limits that slow an attacker without locking the owner out (the login-protection scheme
 * rate-limiter-flexible documents):
 * - consecutive failures per address + account (`LOGIN_MAX_FAILS_PER_ACCOUNT_IP`): a guesser is
 *   paused on that account from that address, while its owner, elsewhere, logs in as usual;
 * - failures per address over every account (`LOGIN_MAX_FAILS_PER_IP` per
 *   `LOGIN_FAILS_WINDOW_SECONDS`): one address cannot spray many accounts.
 * Only failures count: a success resets the pair and gives its reserved point back. There is
 * deliberately no per-account limit, which is what would let anyone lock the admin out.
 * Without a client address (no socket: `app.request()`, embedding) the address-only limits are
 * skipped and the pair limit counts per account.
 */
export function createAuthLimits(ctx: PluginContext): AuthLimits {
  const c = ctx.config;
  const pair = ctx.counters.limiter("login:pair:", {
    points: c.LOGIN_MAX_FAILS_PER_ACCOUNT_IP,
    duration: c.LOGIN_FAILS_WINDOW_SECONDS,
    blockDuration: c.LOGIN_BLOCK_SECONDS,
  });
  const perIp = ctx.counters.limiter("login:ip:", {
    points: c.LOGIN_MAX_FAILS_PER_IP,
    duration: c.LOGIN_FAILS_WINDOW_SECONDS,
    blockDuration: c.LOGIN_BLOCK_SECONDS,
  });
  const registrations = ctx.counters.limiter("register:ip:", {
    points: c.REGISTER_RATE_LIMIT,
    duration: c.REGISTER_RATE_WINDOW_SECONDS,
  });

  /** Consumes one point from each (key, limiter); over any limit → 429 with the longest wait. */
  async function consumeAll(entries: [typeof pair, string][], message: string): Promise<void> {
    const results = await Promise.allSettled(entries.map(([l, key]) => l.consume(key)));
    let waitMs = 0;
    for (const r of results) {
      if (r.status === "fulfilled") continue;
      if (!(r.reason instanceof RateLimiterRes)) {
        // Neither Redis nor the insurance limiter answered: fail open, logins keep working.
        ctx.logger.warn({ err: r.reason }, "rate limiter unavailable; failing open");
        continue;
      }
      waitMs = Math.max(waitMs, r.reason.msBeforeNext);
    }
    if (waitMs > 0) throw tooMany(message, "RATE_LIMITED", waitMs);
  }

  return {
    async beginLogin(email, ip) {
      const bucket = ip ? addressBucket(ip) : null;
      const pairKey = `${bucket ?? "-"}:${digest(email)}`;
      const entries: [typeof pair, string][] = [[pair, pairKey]];
      if (bucket) entries.push([perIp, bucket]);
      await consumeAll(entries, "Too many failed logins, try again later");
      return {
        async succeeded() {
          await Promise.allSettled([pair.delete(pairKey), bucket && perIp.reward(bucket)]);
        },
      };
    },
    async register(ip) {
      if (!ip) return;
      await consumeAll(
        [[registrations, addressBucket(ip)]],
        "Too many registrations, try again later",
      );
    },
  };
}
