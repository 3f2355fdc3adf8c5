import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv, AuthUser } from "../../../src/core/app-env";
import { appError } from "../../../src/core/errors";
import type { SanitizedUser } from "../users";

declare module "../../../src/core/app-env" {
  interface AppVariables {
    /**
     * The caller's account as the session check just read it (through the cache): handlers
     * that show it need not read it again. Never a source of identity or role (`user` is).
     */
    account?: SanitizedUser;
  }
}

/** A verified token's caller, and their account as the session check read it. */
export interface Session {
  user: AuthUser;
  account: SanitizedUser;
}

type Verify = (token: string | null) => Promise<Session | null>;

function bearer(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : null;
}

/** Sets `c.var.user` from `Authorization: Bearer`; throws the 401 envelope otherwise. */
export function requireUserMiddleware(verify: Verify): MiddlewareHandler<AppEnv> {
  return async function requireUser(c, next) {
    const token = bearer(c.req.header("authorization"));
    if (!token) throw appError("UNAUTHORIZED", "Missing bearer token");
    const session = await verify(token);
    if (!session) throw appError("INVALID_TOKEN", "Invalid, expired or revoked token");
    c.set("user", session.user);
    c.set("account", session.account);
    await next();
  };
}

export function requireAdminMiddleware(verify: Verify): MiddlewareHandler<AppEnv> {
  const requireUser = requireUserMiddleware(verify);
  return async function requireAdmin(c, next) {
    await requireUser(c, async () => {
      if (c.get("user")?.role !== "admin") throw appError("FORBIDDEN");
      await next();
    });
  };
}

/** The caller set by requireUser; a route that forgot the middleware fails closed with 401. */
export function currentUser(c: Context<AppEnv>): AuthUser {
  const u = c.get("user");
  if (!u) throw appError("UNAUTHORIZED");
  return u;
}
