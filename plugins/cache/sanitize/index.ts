import type { HookSpec } from "../../../src/core/hooks";
import type { Plugin } from "../../../src/core/plugin";
import { USER_COLLECTION } from "../../features/users";
import { assertSafeFilter } from "./filter-guard";
import { createUserSanitizer, type UserSanitizer } from "./sanitize-user";

export { assertPlainValue, assertSafeFilter } from "./filter-guard";
export { createUserSanitizer, DEFAULT_SENSITIVE_FIELDS, type UserSanitizer } from "./sanitize-user";

declare module "../../../src/core/plugin" {
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

/** A stored document without the given fields; `_id`, ObjectIds and Dates kept as stored. */
const strip =
  (hidden: ReadonlySet<string>): Sanitize =>
  (doc) => {
    const out: Record<string, unknown> = {};
    for (const k in doc) if (!hidden.has(k)) out[k] = doc[k];
    return out;
  };

/**
 * No filter may carry server-side code (`read` and `beforeWrite`), and no document of a declared
 * collection leaves the hooked repository with a sensitive field (`result`). Users leave it in
 * their sanitized API shape (`id`, ISO dates), as the first stage's callers expect; another
 * collection's documents keep their stored shape (its readers and writers use `_id`), only its
 * sensitive fields removed.
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
      const hooks: HookSpec[] = [
        {
          phase: "read",
          run: (call, next) => {
            assertSafeFilter(call.args[0]);
            return next();
          },
        },
        {
          phase: "beforeWrite",
          run: (call) => {
            if (call.op !== "insertOne") assertSafeFilter(call.args[0]);
          },
        },
      ];
      // Declarations are read once every plugin registered (the engine may load after this).
      for (const c of ctx.has("cache") ? ctx.use("cache").all() : []) {
        const hidden = new Set([...c.declaration.sensitive, ...ctx.config.SENSITIVE_FIELDS]);
        const clean = c.name === USER_COLLECTION ? c.engine.sanitize : strip(hidden);
        if (c.name === USER_COLLECTION || hidden.size > 0)
          hooks.push({
            phase: "result",
            collection: c.name,
            run: (result) => sanitizeResult(clean, result),
          });
      }
      return hooks;
    },
  };
}
