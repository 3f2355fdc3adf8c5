import type { PluginContext } from "./plugin";

/** Who is calling, as the auth plugin resolved it from a token. */
export interface AuthUser {
  id: string;
  role: "user" | "admin";
  email: string;
}

/** Hono environment shared by every router. */
export type AppEnv = {
  Variables: {
    requestId: string;
    ctx: PluginContext;
    user?: AuthUser;
  };
};
