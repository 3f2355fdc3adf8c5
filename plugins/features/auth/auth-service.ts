import type { MiddlewareHandler } from "hono";
import type { AppEnv, AuthUser } from "../../../src/core/app-env";
import type { SanitizedUser } from "../users";
import type { RequireUserWith } from "./middleware";

/** Provided by plugins/features/auth as `ctx.use("auth")`; other plugins guard their routes with it. */
export interface AuthService {
  /** Issues a JWT (HS256, JWT_SECRET) for the user, bound to its token version `tv`. */
  issueToken(user: AuthUser): Promise<string>;
  /**
   * The caller behind a token, or null when the token is missing, invalid, expired, revoked
   * (logout), or its account is gone or no longer has the token's role.
   */
  verifyToken(token: string | undefined | null): Promise<AuthUser | null>;
  /**
   * A short-lived (60 s), single-use ticket for `GET /events?ticket=` (EventSource cannot send
   * headers). It never outlives the session it was minted from (`user.exp`).
   */
  issueSseTicket(user: AuthUser): Promise<string>;
  /** Verifies and consumes a ticket: the second use of the same ticket is refused (null). */
  verifySseTicket(ticket: string | undefined | null): Promise<AuthUser | null>;
  /** Whether a verified caller's session still holds (see verifyToken). */
  isSessionCurrent(user: AuthUser): Promise<boolean>;
  /** Logout: revokes every token of the account and, through its event, the streams they opened. */
  revokeSessions(userId: string): Promise<void>;
  /** Sets `c.var.user` from `Authorization: Bearer`; 401 envelope when missing or invalid. */
  requireUser: MiddlewareHandler<AppEnv>;
  /**
   * requireUser for one route, with `start(caller, account)` begun beside the session check
   * (same round trip; `account` is that check's read, as stored); the handler reads its answer
   * with `result(c)` once the session holds.
   */
  requireUserWith<T>(
    start: (caller: AuthUser, account: Promise<SanitizedUser | null>) => Promise<T>,
  ): RequireUserWith<T>;
  /** requireUser, then 403 envelope unless role is admin. */
  requireAdmin: MiddlewareHandler<AppEnv>;
}
