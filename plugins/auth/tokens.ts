import { sign, verify } from "hono/jwt";
import { LRUCache } from "lru-cache";
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
    return sign(
      { sub: user.id, email: user.email, role: user.role, typ, iat: now, exp: now + ttl },
      secret,
      "HS256",
    );
  };

  // A token's claims cannot change, so a verified one is remembered until it expires: the HMAC
  // check (WebCrypto, async) otherwise halves the throughput of every authenticated request.
  const verified = new LRUCache<string, AuthUser>({ max: 10_000 });

  const check = async (
    token: string | undefined | null,
    typ: TokenKind,
  ): Promise<AuthUser | null> => {
    if (!token || typeof token !== "string" || token.length > 4096) return null;
    const key = `${typ}:${token}`;
    const known = verified.get(key);
    if (known) return { ...known };
    try {
      // The algorithm is pinned: a token claiming `alg: none` or RS256 is refused by verify().
      const p = await verify(token, secret, "HS256");
      if (p.typ !== typ || typeof p.sub !== "string" || typeof p.email !== "string") return null;
      if (p.role !== "user" && p.role !== "admin") return null;
      const user: AuthUser = { id: p.sub, email: p.email, role: p.role };
      const ttl = typeof p.exp === "number" ? p.exp * 1000 - Date.now() : 0;
      if (ttl > 0) verified.set(key, user, { ttl });
      return user;
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
