import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../../../src/core/app-env";
import type { AuthService } from "./auth-service";

/**
 * Spread into a `createRoute` config: documents the bearer scheme and mounts the middleware that
 * enforces it, together, so a route cannot advertise auth it does not check (or the reverse).
 * Each guard's catalogue errors (`USER_ERRORS`, `ADMIN_ERRORS`) go into the route's
 * `errorResponses(...)`; test/openapi calls every guarded operation without and with a bad token.
 */
export const userOnly = (auth: AuthService) => ({
  security: [{ bearerAuth: [] }],
  middleware: [auth.requireUser],
});
/** userOnly with the route's own requireUser (`auth.requireUserWith`): the same errors. */
export const userOnlyWith = (guard: { middleware: MiddlewareHandler<AppEnv> }) => ({
  security: [{ bearerAuth: [] }],
  middleware: [guard.middleware],
});
export const adminOnly = (auth: AuthService) => ({
  security: [{ bearerAuth: [] }],
  middleware: [auth.requireAdmin],
});

/** What the requireUser middleware answers. */
export const USER_ERRORS = ["UNAUTHORIZED", "INVALID_TOKEN"] as const;
/** What the requireAdmin middleware answers. */
export const ADMIN_ERRORS = [...USER_ERRORS, "FORBIDDEN"] as const;
