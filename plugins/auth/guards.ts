import type { AuthService } from "../../src/domain/auth";

/**
 * Spread into a `createRoute` config: documents the bearer scheme and mounts the middleware that
 * enforces it, together, so a route cannot advertise auth it does not check (or the reverse).
 */
export const userOnly = (auth: AuthService) => ({
  security: [{ bearerAuth: [] }],
  middleware: [auth.requireUser],
});
export const adminOnly = (auth: AuthService) => ({
  security: [{ bearerAuth: [] }],
  middleware: [auth.requireAdmin],
});
