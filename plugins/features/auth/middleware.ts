import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv, AuthUser } from "../../../src/core/app-env";
import { appError } from "../../../src/core/errors";
import type { SanitizedUser } from "../users";

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
    await next();
  };
}

/** A route's requireUser that starts its own reads once the token's signature holds. */
export interface RequireUserWith<T> {
  middleware: MiddlewareHandler<AppEnv>;
  /** What `start` answered, once the session check let the request through. */
  result(c: Context<AppEnv>): Promise<T>;
}

/**
 * requireUser for a route whose reads depend only on who the caller is: `start(caller, account)`
 * runs as soon as the token's signature holds (no I/O once the token is known), beside the
 * session check, so their cache reads share one round trip; `account` is the session check's
 * read of the account (as stored). Nothing is decided from what `start` reads: the handler gets
 * it only after the session check passed; a refused session drops it unread.
 */
export function requireUserWithMiddleware<T>(
  claims: (token: string) => Promise<AuthUser | null>,
  session: (user: AuthUser) => Promise<SanitizedUser | null>,
  start: (caller: AuthUser, account: Promise<SanitizedUser | null>) => Promise<T>,
): RequireUserWith<T> {
  const results = new WeakMap<Context<AppEnv>, Promise<T>>();
  return {
    middleware: async function requireUser(c, next) {
      const token = bearer(c.req.header("authorization"));
      if (!token) throw appError("UNAUTHORIZED", "Missing bearer token");
      const user = await claims(token);
      if (!user) throw appError("INVALID_TOKEN", "Invalid, expired or revoked token");
      const account = session(user);
      const early = start(user, account);
      early.catch(() => undefined); // read by the handler, or dropped with the refused session
      if (!(await account)) throw appError("INVALID_TOKEN", "Invalid, expired or revoked token");
      c.set("user", user);
      results.set(c, early);
      await next();
    },
    result(c) {
      const r = results.get(c);
      if (!r) throw appError("UNAUTHORIZED");
      return r;
    },
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
