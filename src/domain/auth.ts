import type { MiddlewareHandler } from "hono";
import type { AppEnv, AuthUser } from "../core/app-env";

/** Provided by plugins/auth as `ctx.use("auth")`; other plugins guard their routes with it. */
export interface AuthService {
  /** Issues a JWT (HS256, JWT_SECRET) for the user. */
  issueToken(user: AuthUser): Promise<string>;
  /** The caller behind a token, or null when the token is missing, invalid or expired. */
  verifyToken(token: string | undefined | null): Promise<AuthUser | null>;
  /**
   * A short-lived (60 s), single-purpose ticket for `GET /events?ticket=` (EventSource cannot
   * send headers).
   */
  issueSseTicket(user: AuthUser): Promise<string>;
  verifySseTicket(ticket: string | undefined | null): Promise<AuthUser | null>;
  /** Sets `c.var.user` from `Authorization: Bearer`; 401 envelope when missing or invalid. */
  requireUser: MiddlewareHandler<AppEnv>;
  /** requireUser, then 403 envelope unless role is admin. */
  requireAdmin: MiddlewareHandler<AppEnv>;
}
