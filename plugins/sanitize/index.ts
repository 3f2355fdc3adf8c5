import type { Plugin } from "../../src/core/plugin";
import { USER_COLLECTION } from "../../src/domain/user";
import { assertSafeFilter } from "./filter-guard";
import { createUserSanitizer, type UserSanitizer } from "./sanitize-user";

export { assertPlainValue, assertSafeFilter } from "./filter-guard";
export { createUserSanitizer, DEFAULT_SENSITIVE_FIELDS, type UserSanitizer } from "./sanitize-user";

declare module "../../src/core/plugin" {
  interface Services {
    sanitizeUser: UserSanitizer;
  }
}

const sanitizeResult = (sanitize: UserSanitizer, result: unknown): unknown => {
  if (Array.isArray(result)) return result.map((r) => sanitizeResult(sanitize, r));
  if (
    result &&
    typeof result === "object" &&
    ("_id" in result || "id" in result) &&
    "email" in result
  ) {
    return sanitize(result as Record<string, unknown>);
  }
  return result;
};

/**
 * Outermost plugin: every users document leaving the hooked repository is in the sanitized API
 * shape, whether it came from Redis or MongoDB, and no filter may carry server-side code.
 */
export function sanitizePlugin(): Plugin {
  let sanitize: UserSanitizer;
  return {
    name: "sanitize",
    register(ctx) {
      sanitize = createUserSanitizer(ctx.config.SENSITIVE_FIELDS);
      ctx.provide("sanitizeUser", sanitize);
    },
    hooks: [
      {
        run: (call, next) => {
          if (call.op !== "insertOne") assertSafeFilter(call.args[0]);
          if (call.collection !== USER_COLLECTION) return next();
          // A cache-aside hit is already sanitized; skip the copy on the hot path.
          return next().then((result) =>
            call.state.sanitized ? result : sanitizeResult(sanitize, result),
          );
        },
      },
    ],
  };
}
