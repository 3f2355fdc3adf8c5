import { appError } from "../../../src/core/errors";

/** Operators that run code or whole expressions on the server: never acceptable in a filter. */
const FORBIDDEN = new Set(["$where", "$function", "$accumulator", "$expr"]);

/**
 * Throws 400 when client-supplied data would act as a query operator (`{"$ne": null}`) or carry
 * an object where a scalar is expected: Mongoose's `sanitizeFilter` idea, strict instead of
 * wrapping. Use it on any value a client sent that ends up in a filter.
 */
export function assertPlainValue(value: unknown, path = "value"): void {
  if (value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      assertPlainValue(v, `${path}.${i}`);
    });
    return;
  }
  for (const key of Object.keys(value)) {
    if (key.startsWith("$") || key.includes(".") || key === "__proto__") {
      throw appError("INVALID_INPUT", `Operator or dotted key not allowed in ${path}`, {
        path,
        key,
      });
    }
    assertPlainValue((value as Record<string, unknown>)[key], `${path}.${key}`);
  }
}

/** Refuses server-side code operators anywhere in a filter, whoever built it. */
export function assertSafeFilter(filter: unknown, depth = 0): void {
  if (filter === null || typeof filter !== "object" || depth > 32) return;
  if (Array.isArray(filter)) {
    for (const f of filter) assertSafeFilter(f, depth + 1);
    return;
  }
  if (Object.getPrototypeOf(filter) !== Object.prototype) return; // ObjectId, Date, RegExp
  for (const key of Object.keys(filter)) {
    if (FORBIDDEN.has(key))
      throw appError("FORBIDDEN_OPERATOR", `${key} is not allowed in a filter`, { key });
    assertSafeFilter((filter as Record<string, unknown>)[key], depth + 1);
  }
}
