import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * Coded errors (Fastify's `lib/errors.js` shape): every error a client can cause carries a
 * stable `code` and the HTTP status it maps to, so no handler decides statuses ad hoc.
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    readonly status: ContentfulStatusCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "AppError";
  }
}

export const badRequest = (message: string, details?: unknown, code = "VALIDATION_ERROR") =>
  new AppError(code, 400, message, details);
export const unauthorized = (message = "Authentication required", code = "UNAUTHORIZED") =>
  new AppError(code, 401, message);
export const forbidden = (message = "Not allowed", code = "FORBIDDEN") =>
  new AppError(code, 403, message);
export const notFound = (message = "Not found", code = "NOT_FOUND") =>
  new AppError(code, 404, message);
export const conflict = (message: string, code = "CONFLICT", details?: unknown) =>
  new AppError(code, 409, message, details);
export const tooMany = (message = "Too many requests", code = "RATE_LIMITED") =>
  new AppError(code, 429, message);

/** A store (MongoDB or Redis) cannot be reached in time. Always 503, never a hang. */
export class StoreUnavailableError extends AppError {
  constructor(
    readonly store: "mongo" | "redis",
    cause?: unknown,
  ) {
    super("STORE_UNAVAILABLE", 503, `${store === "mongo" ? "Database" : "Cache"} unavailable`);
    this.name = "StoreUnavailableError";
    if (cause) this.cause = cause;
  }
}

/** A unique index refused a write (E11000 on MongoDB, the same in the embedded store). */
export class DuplicateKeyError extends AppError {
  constructor(
    readonly keyPattern: Record<string, unknown> = {},
    readonly keyValue: Record<string, unknown> = {},
  ) {
    super(
      "DUPLICATE_KEY",
      409,
      `Duplicate value for ${Object.keys(keyPattern).join(", ") || "a unique field"}`,
      {
        fields: Object.keys(keyPattern),
      },
    );
    this.name = "DuplicateKeyError";
  }
}

export type ErrorEnvelope = {
  success: false;
  error: { code: string; message: string; details?: unknown };
};

export function errorEnvelope(code: string, message: string, details?: unknown): ErrorEnvelope {
  return {
    success: false,
    error: details === undefined ? { code, message } : { code, message, details },
  };
}

export type SuccessEnvelope<T> = { success: true; data: T; message?: string };

export function ok<T>(data: T, message?: string): SuccessEnvelope<T> {
  return message === undefined ? { success: true, data } : { success: true, data, message };
}
