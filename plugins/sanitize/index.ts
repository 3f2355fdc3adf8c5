import type { Plugin } from "../../src/core/plugin";
import { USER_COLLECTION } from "../users/user";
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

/** A stored document without the given fields; `_id`, ObjectIds and Dates kept as stored. */
const strip =
  (hidden: ReadonlySet<string>): Sanitize =>
  (doc) => {
    const out: Record<string, unknown> = {};
    for (const k in doc) if (!hidden.has(k)) out[k] = doc[k];
    return out;
  };

/**
 * Outermost plugin: no document of a declared collection leaves the hooked repository with a
 * sensitive field, and no filter may carry server-side code. Users leave it in their sanitized
 * API shape (`id`, ISO dates), as the first stage's callers expect, whether they came from
 * Redis or MongoDB; another collection's documents keep their stored shape (its readers and
 * writers use `_id`), only its sensitive fields removed.
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
        for (const c of ctx.use("cache").all()) {
          const hidden = new Set([...c.declaration.sensitive, ...ctx.config.SENSITIVE_FIELDS]);
          if (c.name === USER_COLLECTION) sanitizers.set(c.name, c.engine.sanitize);
          else if (hidden.size > 0) sanitizers.set(c.name, strip(hidden));
        }
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
