import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import type { AppEnv, AuthUser } from "../../../src/core/app-env";
import type { AuthService } from "../auth";

/** Cookie a browser app may set with its JWT so that `new EventSource("/api/v1/events")` works. */
export const SSE_TOKEN_COOKIE = "cs_token";

/**
 * The caller of `GET /events`, from the first credential present: `Authorization: Bearer`, then
 * `?ticket=` (a 60 s SSE ticket: EventSource cannot send headers), then the `cs_token` cookie.
 * A present but invalid credential is final (null), never a fall-through to a weaker one.
 * Long-lived JWTs are refused in the query string: URLs end up in access logs.
 */
export async function resolveSseCaller(
  c: Context<AppEnv>,
  auth: AuthService,
  ticket: string | undefined,
): Promise<AuthUser | null> {
  const header = c.req.header("authorization");
  if (header !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m ? auth.verifyToken(m[1]) : null;
  }
  if (ticket !== undefined) return auth.verifySseTicket(ticket);
  const cookie = getCookie(c, SSE_TOKEN_COOKIE);
  if (cookie !== undefined) return auth.verifyToken(cookie);
  return null;
}
