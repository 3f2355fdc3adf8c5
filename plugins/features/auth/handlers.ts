import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv, AuthUser } from "../../../src/core/app-env";
import { clientIp } from "../../../src/core/client-ip";
import { appError, DuplicateKeyError, ok } from "../../../src/core/errors";
import type { PluginContext } from "../../../src/core/plugin";
import type { SanitizedUser } from "../users";
import { newUserDoc, rawUsers, sanitizedUsers } from "../users";
import type { AuthService } from "./auth-service";
import { currentUser } from "./middleware";
import type { Passwords } from "./passwords";
import type { AuthLimits } from "./rate-limit";
import type { loginRoute, logoutRoute, registerRoute, sseTicketRoute } from "./routes";
import { tokenVersionOf } from "./sessions";
import { SSE_TICKET_TTL_SECONDS } from "./tokens";

const AUTH_LOG_KEEP = 20;

const asAuthUser = (u: SanitizedUser): AuthUser => ({
  id: u.id,
  email: u.email,
  role: u.role,
  tv: tokenVersionOf(u),
});

/** Which unique field a DuplicateKeyError was about, as a client-facing 409. */
export function duplicateUserConflict(err: DuplicateKeyError) {
  const field = Object.keys(err.keyPattern)[0] ?? Object.keys(err.keyValue)[0] ?? "";
  return appError(field === "username" ? "USERNAME_TAKEN" : "EMAIL_TAKEN");
}

export function registerHandler(
  ctx: PluginContext,
  auth: AuthService,
  passwords: Passwords,
  limits: AuthLimits,
): RouteHandler<typeof registerRoute, AppEnv> {
  return async function register(c) {
    const body = c.req.valid("json");
    await limits.register(clientIp(c, ctx.config.TRUST_PROXY));
    const passwordHash = await passwords.hash(body.password);
    let user: SanitizedUser;
    try {
      user = await sanitizedUsers(ctx, { reason: "register" }).insertOne(
        newUserDoc({ email: body.email, username: body.username, passwordHash, role: "user" }),
      );
    } catch (err) {
      if (err instanceof DuplicateKeyError) throw duplicateUserConflict(err);
      throw err;
    }
    const token = await auth.issueToken(asAuthUser(user));
    return c.json(ok({ token, user }), 201);
  };
}

export function loginHandler(
  ctx: PluginContext,
  auth: AuthService,
  passwords: Passwords,
  limits: AuthLimits,
): RouteHandler<typeof loginRoute, AppEnv> {
  return async function login(c) {
    const { email, password } = c.req.valid("json");
    const ip = clientIp(c, ctx.config.TRUST_PROXY);
    const attempt = await limits.beginLogin(email, ip);
    // The raw store: the hooked repository strips passwordHash, which is exactly what we need here.
    const doc = await rawUsers(ctx).findOne({ email });
    const valid = await passwords.verify(password, doc?.passwordHash);
    if (!doc || !valid) throw appError("INVALID_CREDENTIALS");
    await attempt.succeeded();
    // authLogs is a secret field: the sanitized user does not change, so a raw write needs no
    // version bump, cache write or SSE event (a login is not a profile change).
    await rawUsers(ctx)
      .updateOne(
        { _id: doc._id },
        {
          $push: {
            authLogs: { $each: [{ at: new Date(), ip, event: "login" }], $slice: -AUTH_LOG_KEEP },
          },
        },
      )
      .catch((err) => ctx.logger.warn({ err }, "could not record login in authLogs"));
    // Identity, role and token version come from the MongoDB document just verified, never
    // from a cached copy: whoever can write one Redis value must not be able to mint a role.
    const token = await auth.issueToken({
      id: doc._id.toHexString(),
      email: doc.email,
      role: doc.role,
      tv: tokenVersionOf(doc),
    });
    return c.json(ok({ token, user: ctx.use("sanitizeUser")(doc) }), 200);
  };
}

export function logoutHandler(
  auth: AuthService,
): RouteHandler<ReturnType<typeof logoutRoute>, AppEnv> {
  return async function logout(c) {
    // Revokes every token of the account (one version counter): this one, other devices', and
    // the SSE streams they opened, which close when the revocation event reaches them.
    await auth.revokeSessions(currentUser(c).id);
    return c.json(ok({ loggedOut: true as const }), 200);
  };
}

export function sseTicketHandler(
  auth: AuthService,
): RouteHandler<ReturnType<typeof sseTicketRoute>, AppEnv> {
  return async function sseTicket(c) {
    const me = currentUser(c);
    const ticket = await auth.issueSseTicket(me);
    // A ticket never outlives the session it comes from.
    const left =
      me.exp === undefined ? SSE_TICKET_TTL_SECONDS : me.exp - Math.floor(Date.now() / 1000);
    return c.json(
      ok({ ticket, expiresIn: Math.max(0, Math.min(SSE_TICKET_TTL_SECONDS, left)) }),
      200,
    );
  };
}
