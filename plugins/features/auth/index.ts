import { createRouter } from "../../../src/core/app";
import type { Plugin } from "../../../src/core/plugin";
import { USER_INDEXES } from "../users";
import type { AuthService } from "./auth-service";
import { bootstrapAdmin } from "./bootstrap";
import { loginHandler, logoutHandler, registerHandler, sseTicketHandler } from "./handlers";
import { passwordJobsGauge } from "./password-metrics";
import { createPasswords, type PasswordCost, PRODUCTION_COST, TEST_COST } from "./passwords";
import { type AuthLimits, createAuthLimits } from "./rate-limit";
import { loginRoute, logoutRoute, registerRoute, sseTicketRoute } from "./routes";
import { createAuthService, resolveSecret } from "./service";
import { createSessions } from "./sessions";

declare module "../../../src/core/plugin" {
  interface Services {
    auth: AuthService;
  }
}

// The public surface other plugins guard their routes with.
export type { AuthService } from "./auth-service";
export { ADMIN_ERRORS, adminOnly, USER_ERRORS, userOnly, userOnlyWith } from "./guards";
export { currentUser, type RequireUserWith } from "./middleware";

export interface AuthPluginOptions {
  /** argon2id cost; defaults to a light cost under NODE_ENV=test, the library default otherwise. */
  passwordCost?: PasswordCost;
  /**
   * Test only (refused unless NODE_ENV=test): every signed token passes, revoked or not, so a
   * suite can show its session checks notice the protection missing.
   */
  withoutSessionCheckForTest?: boolean;
}

/** Accounts, JWTs, the login limiter and the admin bootstrap; provides `ctx.use("auth")`. */
export function authPlugin(options: AuthPluginOptions = {}): Plugin {
  let passwords: ReturnType<typeof createPasswords>;
  let auth: AuthService;
  let limits: AuthLimits;
  return {
    name: "auth",
    // Sessions are checked through ctx.use("cacheSync"); login answers with the sanitizer's shape.
    dependencies: ["sanitize", "cache-sync"],
    register(ctx) {
      passwords = createPasswords(
        options.passwordCost ?? (ctx.config.NODE_ENV === "test" ? TEST_COST : PRODUCTION_COST),
        {
          hash: ctx.config.PASSWORD_HASH_CONCURRENCY,
          verify: ctx.config.PASSWORD_VERIFY_CONCURRENCY,
        },
      );
      limits = createAuthLimits(ctx);
      passwordJobsGauge(ctx.metrics.registry, passwords.load);
      if (options.withoutSessionCheckForTest && ctx.config.NODE_ENV !== "test")
        throw new Error("the session check can only be switched off in tests (NODE_ENV=test)");
      const sessions = createSessions(ctx);
      if (options.withoutSessionCheckForTest)
        sessions.current = (u) => ctx.use("cacheSync").getUserWithSync(u.id);
      auth = createAuthService(resolveSecret(ctx), ctx.config.JWT_TTL_SECONDS, sessions);
      ctx.provide("auth", auth);
    },
    routes(ctx) {
      const router = createRouter();
      router.openapi(registerRoute, registerHandler(ctx, auth, passwords, limits));
      router.openapi(loginRoute, loginHandler(ctx, auth, passwords, limits));
      router.openapi(logoutRoute(auth), logoutHandler(auth));
      router.openapi(sseTicketRoute(auth), sseTicketHandler(auth));
      return router;
    },
    async onReady(ctx) {
      await ctx.ensureIndexes(USER_INDEXES);
      await bootstrapAdmin(ctx, passwords);
    },
  };
}
