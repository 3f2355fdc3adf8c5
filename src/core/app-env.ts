import type { SanitizedUser } from "../domain/user";
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

/** Hono environment shared by every router. */
export type AppEnv = {
  Variables: {
    requestId: string;
    ctx: PluginContext;
    user?: AuthUser;
    /**
     * The caller's account as the session check just read it (through the cache): handlers
     * that show it need not read it again. Never a source of identity or role (`user` is).
     */
    account?: SanitizedUser;
  };
};
