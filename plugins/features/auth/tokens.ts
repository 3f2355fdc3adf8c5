import { sign, verify } from "hono/jwt";
import { LRUCache } from "lru-cache";
import type { AuthUser } from "../../../src/core/app-env";
import { isObjectIdHex } from "../../../src/core/object-id";

/**
 * Two token kinds share one secret, told apart by a `typ` claim: a bearer token must never open
 * an SSE stream through a URL (where it would be logged), and a 60 s SSE ticket must never act
 * as a bearer token.
 */
export type TokenKind = "access" | "sse";

export const SSE_TICKET_TTL_SECONDS = 60;

/** A verified SSE ticket: the caller, and the id that makes it single-use. */
export interface SseTicketClaims {
  user: AuthUser;
  jti: string;
  /** Epoch seconds the ticket itself expires (not the session it opens). */
  ticketExp: number;
}

type Verified = { user: AuthUser; jti?: string; exp: number };

export function createTokens(secret: string, accessTtlSeconds: number) {
  const now = () => Math.floor(Date.now() / 1000);

  // A token's claims cannot change, so a verified one is remembered until it expires: the HMAC
  // check (WebCrypto, async) otherwise halves the throughput of every authenticated request.
  // Revocation is not decided here (sessions.ts checks it on every use).
  const verified = new LRUCache<string, Verified>({ max: 10_000 });

  const check = async (token: string | undefined | null, typ: TokenKind) => {
    if (!token || typeof token !== "string" || token.length > 4096) return null;
    const key = `${typ}:${token}`;
    const known = verified.get(key);
    if (known) return { ...known, user: { ...known.user } };
    try {
      // The algorithm is pinned: a token claiming `alg: none` or RS256 is refused by verify().
      const p = await verify(token, secret, "HS256");
      // A subject that is not a canonical ObjectId never reaches a handler that parses it.
      if (p.typ !== typ || typeof p.sub !== "string" || !isObjectIdHex(p.sub)) return null;
      if (typeof p.email !== "string" || typeof p.exp !== "number") return null;
      if (p.role !== "user" && p.role !== "admin") return null;
      const tv = p.tv === undefined ? 0 : p.tv;
      if (typeof tv !== "number" || !Number.isSafeInteger(tv)) return null;
      // A ticket carries the expiry of the session it was minted from: the stream ends then.
      const sessionExp = typ === "sse" && typeof p.sexp === "number" ? p.sexp : p.exp;
      const user: AuthUser = { id: p.sub, email: p.email, role: p.role, tv, exp: sessionExp };
      const v: Verified = {
        user,
        exp: p.exp,
        ...(typeof p.jti === "string" ? { jti: p.jti } : {}),
      };
      const ttl = p.exp * 1000 - Date.now();
      if (ttl > 0) verified.set(key, v, { ttl });
      return { ...v, user: { ...user } };
    } catch {
      return null;
    }
  };

  return {
    issueAccess(u: AuthUser) {
      const iat = now();
      return sign(
        {
          sub: u.id,
          email: u.email,
          role: u.role,
          tv: u.tv ?? 0,
          typ: "access",
          iat,
          exp: iat + accessTtlSeconds,
        },
        secret,
        "HS256",
      );
    },
    /** A ticket for the session `u` came from: never outlives it, usable once (`jti`). */
    issueSse(u: AuthUser) {
      const iat = now();
      const sexp = u.exp ?? iat + accessTtlSeconds;
      return sign(
        {
          sub: u.id,
          email: u.email,
          role: u.role,
          tv: u.tv ?? 0,
          typ: "sse",
          jti: crypto.randomUUID(),
          sexp,
          iat,
          exp: Math.min(iat + SSE_TICKET_TTL_SECONDS, sexp),
        },
        secret,
        "HS256",
      );
    },
    async verifyAccess(t: string | undefined | null): Promise<AuthUser | null> {
      return (await check(t, "access"))?.user ?? null;
    },
    async verifySse(t: string | undefined | null): Promise<SseTicketClaims | null> {
      const v = await check(t, "sse");
      if (!v?.jti) return null;
      return { user: v.user, jti: v.jti, ticketExp: v.exp };
    },
  };
}

export type Tokens = ReturnType<typeof createTokens>;
