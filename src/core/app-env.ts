import type { PluginContext } from "./plugin";

/** Who is calling, as the auth plugin resolved it from a token. */
export interface AuthUser {
  id: string;
  role: "user" | "admin";
  email: string;
  /** The account's token version the credential was minted for (logout bumps it). */
  tv?: number;
  /** When the credential stops working (epoch seconds); SSE streams end then. */
  exp?: number;
}

/**
 * Request variables; plugins add theirs by declaration merging (as auth adds `account`):
 *   declare module "../../src/core/app-env" { interface AppVariables { account?: … } }
 */
export interface AppVariables {
  requestId: string;
  ctx: PluginContext;
  user?: AuthUser;
}

/** Hono environment shared by every router. */
export type AppEnv = { Variables: AppVariables };
