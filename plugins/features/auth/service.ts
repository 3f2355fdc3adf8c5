import type { PluginContext } from "../../../src/core/plugin";
import type { AuthService } from "./auth-service";
import {
  requireAdminMiddleware,
  requireUserMiddleware,
  requireUserWithMiddleware,
  type Session,
} from "./middleware";
import type { Sessions } from "./sessions";
import { createTokens } from "./tokens";

/**
 * JWT_SECRET, or outside production a random one per process (config refuses production without
 * it). A random secret means tokens die with the process and other instances reject them.
 */
export function resolveSecret(ctx: PluginContext): string {
  if (ctx.config.JWT_SECRET) return ctx.config.JWT_SECRET;
  ctx.logger.warn(
    "JWT_SECRET is not set: using a random per-process secret (tokens will not survive a restart or work across instances)",
  );
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Buffer.from(bytes).toString("base64url");
}

export function createAuthService(
  secret: string,
  ttlSeconds: number,
  sessions: Sessions,
): AuthService {
  const tokens = createTokens(secret, ttlSeconds);
  // Signature first (cheap once memoised), then the session: revoked, deleted or re-roled
  // accounts stop here, on every request.
  const verifySession = async (token: string | undefined | null): Promise<Session | null> => {
    const user = await tokens.verifyAccess(token);
    if (!user) return null;
    const account = await sessions.current(user);
    return account ? { user, account } : null;
  };
  const verifyToken = async (token: string | undefined | null) =>
    (await verifySession(token))?.user ?? null;
  return {
    issueToken: tokens.issueAccess,
    verifyToken,
    issueSseTicket: tokens.issueSse,
    async verifySseTicket(ticket) {
      const t = await tokens.verifySse(ticket);
      if (!t || !(await sessions.current(t.user))) return null;
      const ttlMs = t.ticketExp * 1000 - Date.now();
      return ttlMs > 0 && (await sessions.consumeTicket(t.jti, ttlMs)) ? t.user : null;
    },
    isSessionCurrent: async (user) => (await sessions.current(user)) !== null,
    revokeSessions: async (userId) => {
      await sessions.revoke(userId);
    },
    requireUser: requireUserMiddleware(verifySession),
    requireAdmin: requireAdminMiddleware(verifySession),
    requireUserWith: (start) =>
      requireUserWithMiddleware(tokens.verifyAccess, sessions.current, start),
  };
}
