import type { Plugin } from "../../src/core/plugin";
import { assertSafeFilter } from "./filter-guard";
import { createUserSanitizer, type UserSanitizer } from "./sanitize-user";

export { assertPlainValue, assertSafeFilter } from "./filter-guard";
export { createUserSanitizer, DEFAULT_SENSITIVE_FIELDS, type UserSanitizer } from "./sanitize-user";

declare module "../../src/core/plugin" {
  interface Services {
    sanitizeUser: UserSanitizer;
  }
}

type Sanitize = (doc: Record<string, unknown>) => unknown;

const sanitizeResult = (sanitize: Sanitize, result: unknown): unknown => {
  if (Array.isArray(result)) return result.map((r) => sanitizeResult(sanitize, r));
  if (result && typeof result === "object" && ("_id" in result || "id" in result))
    return sanitize(result as Record<string, unknown>);
  return result;
};

/**
 * Outermost plugin: every document of a declared collection leaving the hooked repository is in
 * its sanitized API shape (its declaration's sensitive fields gone), whether it came from Redis
 * or MongoDB, and no filter may carry server-side code.
 */
export function sanitizePlugin(): Plugin {
  let sanitize: UserSanitizer;
  return {
    name: "sanitize",
    register(ctx) {
      sanitize = createUserSanitizer(ctx.config.SENSITIVE_FIELDS);
      ctx.provide("sanitizeUser", sanitize);
    },
    hooks: (ctx) => {
      // Outermost, so loaded before the engine: its declarations are read once all registered.
      const sanitizers = new Map<string, Sanitize>();
      if (ctx.has("cache"))
        for (const c of ctx.use("cache").all()) sanitizers.set(c.name, c.engine.sanitize);
      return [
        {
          run: (call, next) => {
            if (call.op !== "insertOne") assertSafeFilter(call.args[0]);
            const clean = sanitizers.get(call.collection);
            if (!clean) return next();
            // A cache read is already sanitized; skip the copy on the hot path.
            return next().then((result) =>
              call.state.sanitized ? result : sanitizeResult(clean, result),
            );
          },
        },
      ];
    },
  };
}
