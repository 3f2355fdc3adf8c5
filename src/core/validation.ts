import type { Hook } from "@hono/zod-openapi";
import type { AppEnv } from "./app-env";
import { errorEnvelope } from "./errors";

/**
 * The one zod-openapi `defaultHook`: any failed param/query/body validation becomes the 400
 * envelope with the zod issues as details (path + message, never the offending value).
 */
export const defaultHook: Hook<unknown, AppEnv, string, Response | undefined> = (result, c) => {
  if (!result.success) {
    const details = result.error.issues.map((i) => ({
      path: i.path.join("."),
      message: i.message,
    }));
    return c.json(errorEnvelope("VALIDATION_ERROR", undefined, details), 400);
  }
  return undefined;
};
