import { sign, verify } from "hono/jwt";
import type { AuthUser } from "../../src/core/app-env";

/**
 * Two token kinds share one secret, told apart by a `typ` claim: a bearer token must never open
 * an SSE stream through a URL (where it would be logged), and a 60 s SSE ticket must never act
 * as a bearer token.
 */
export type TokenKind = "access" | "sse";

export const SSE_TICKET_TTL_SECONDS = 60;

export function createTokens(secret: string, accessTtlSeconds: number) {
  const issue = (user: AuthUser, typ: TokenKind, ttl: number) => {
    const now = Math.floor(Date.now() / 1000);
    return sign({ sub: user.id, email: user.email, role: user.role, typ, iat: now, exp: now + ttl }, secret, "HS256");
  };

  const check = async (token: string | undefined | null, typ: TokenKind): Promise<AuthUser | null> => {
    if (!token || typeof token !== "string" || token.length > 4096) return null;
    try {
      // The algorithm is pinned: a token claiming `alg: none` or RS256 is refused by verify().
      const p = await verify(token, secret, "HS256");
      if (p.typ !== typ || typeof p.sub !== "string" || typeof p.email !== "string") return null;
      if (p.role !== "user" && p.role !== "admin") return null;
      return { id: p.sub, email: p.email, role: p.role };
    } catch {
      return null;
    }
  };

  return {
    issueAccess: (u: AuthUser) => issue(u, "access", accessTtlSeconds),
    issueSse: (u: AuthUser) => issue(u, "sse", SSE_TICKET_TTL_SECONDS),
    verifyAccess: (t: string | undefined | null) => check(t, "access"),
    verifySse: (t: string | undefined | null) => check(t, "sse"),
  };
}
