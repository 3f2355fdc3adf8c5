import type { PluginContext } from "../../src/core/plugin";
import type { AuthService } from "../../src/domain/auth";
import { requireAdminMiddleware, requireUserMiddleware } from "./middleware";
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

export function createAuthService(secret: string, ttlSeconds: number): AuthService {
  const tokens = createTokens(secret, ttlSeconds);
  return {
    issueToken: tokens.issueAccess,
    verifyToken: tokens.verifyAccess,
    issueSseTicket: tokens.issueSse,
    verifySseTicket: tokens.verifySse,
    requireUser: requireUserMiddleware(tokens.verifyAccess),
    requireAdmin: requireAdminMiddleware(tokens.verifyAccess),
  };
}
