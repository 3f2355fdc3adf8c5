import type { AuthUser } from "../../../src/core/app-env";
import type { PluginContext } from "../../../src/core/plugin";
import type { SanitizedUser } from "../users";

/**
 * Server-side session state, kept as one counter on the user document: `tokenVersion`. Every
 * token carries the version it was minted for (`tv`); logout increments it, which revokes every
 * token of the account (and, through the userDataUpdated event, the streams they opened).
 *
 * The check reads the user through the cache (cache-aside), so authenticated requests keep
 * working from Redis while MongoDB is down. It can only *take away*: identity and role come from
 * the signed token, and a cached entry that disagrees with the token — a lower role, another
 * version, no user — refuses it. A poisoned entry can therefore deny a session, or at worst keep
 * alive one whose token the attacker already holds; it can never grant an identity or a role.
 */
export interface Sessions {
  /**
   * The account when the session holds (account present, token version current, role not
   * exceeded), else null. As stored: shown to a client only through `cache.users.present`.
   */
  current(user: AuthUser): Promise<SanitizedUser | null>;
  /** Revokes every token of the account (logout); returns the new version. */
  revoke(userId: string): Promise<number | null>;
  /** Marks an SSE ticket used; false when it already was (single use). */
  consumeTicket(jti: string, ttlMs: number): Promise<boolean>;
}

/** The account's current token version; absent (never logged out) is 0. */
export const tokenVersionOf = (doc: { tokenVersion?: number }): number =>
  typeof doc.tokenVersion === "number" ? doc.tokenVersion : 0;

export function createSessions(ctx: PluginContext): Sessions {
  const users = () => ctx.use("cache").users;
  return {
    async current(user) {
      // As stored: role and token version are never write-behind fields (no overlay read).
      const account = await users().getStored(user.id);
      if (!account) return null;
      // A token may not carry more than the account holds now (a demoted admin's token stops
      // working), and a cached "admin" never lifts a user token: the role comes from the token.
      if (user.role === "admin" && account.role !== "admin") return null;
      return tokenVersionOf(account) === (user.tv ?? 0) ? account : null;
    },
    async revoke(userId) {
      const user = await ctx
        .use("cacheSync")
        .updateUserWithSync(userId, { $inc: { tokenVersion: 1 } }, { reason: "logout" });
      return user ? tokenVersionOf(user) : null;
    },
    // SET NX: the first verifier of a ticket wins atomically, across instances. Redis down
    // rejects (StoreUnavailableError → 503): a ticket that cannot be proven unused is not used.
    consumeTicket: (jti, ttlMs) => ctx.locks.claimOnce(`sse-ticket:${jti}`, ttlMs),
  };
}
