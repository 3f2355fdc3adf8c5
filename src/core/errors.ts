import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * The error catalogue: every error a client can get, its HTTP status and default message, defined
 * once (Fastify's `createError` table, bentocache's error map). Handlers throw `appError(code)`;
 * routes list the codes they can answer with `errorResponses(...codes)` (src/core/api-route.ts),
 * which writes their OpenAPI `responses` (one entry per status, the envelope with `code` narrowed to
 * those codes), and test/openapi checks the server answers only what is documented.
 *
 * Adding an error: one line here, then `throw appError("MY_CODE")` where it happens and add
 * "MY_CODE" to the `errors` of each route that can answer it (a guard's codes come with the guard,
 * see plugins/features/auth/guards.ts). A new status (e.g. 413) needs nothing else.
 */
export const ERRORS = {
  VALIDATION_ERROR: { status: 400, message: "Invalid request" },
  INVALID_JSON: { status: 400, message: "Malformed JSON body" },
  INVALID_CURSOR: { status: 400, message: "Invalid cursor" },
  FORBIDDEN_OPERATOR: { status: 400, message: "Operator not allowed in a filter" },
  INVALID_INPUT: { status: 400, message: "Operator or dotted key not allowed" },
  INVALID_AMOUNT: { status: 400, message: "amount must be a non-zero integer in minor units" },
  UNAUTHORIZED: { status: 401, message: "Authentication required" },
  INVALID_TOKEN: { status: 401, message: "Invalid or expired token" },
  INVALID_CREDENTIALS: { status: 401, message: "Invalid email or password" },
  FORBIDDEN: { status: 403, message: "Admin only" },
  NOT_FOUND: { status: 404, message: "Not found" },
  USER_NOT_FOUND: { status: 404, message: "User not found" },
  REQUEST_NOT_FOUND: { status: 404, message: "Unknown request" },
  LISTING_NOT_FOUND: { status: 404, message: "Listing not found" },
  COLLECTION_NOT_FOUND: { status: 404, message: "Not a cached collection" },
  EMAIL_TAKEN: { status: 409, message: "Email already registered" },
  USERNAME_TAKEN: { status: 409, message: "Username already taken" },
  DUPLICATE_KEY: { status: 409, message: "Duplicate value for a unique field" },
  INVALID_STATE: { status: 409, message: "The request is not pending" },
  INSUFFICIENT_FUNDS: { status: 409, message: "Insufficient funds" },
  BALANCE_NOT_MIGRATED: {
    status: 409,
    message: "The balance is not stored as integer minor units yet: run `bun run migrate`",
  },
  OP_ID_REUSED: { status: 409, message: "opId was already used for a different balance change" },
  OP_IN_PROGRESS: { status: 409, message: "The same operation is in progress" },
  OP_CANCELLED: { status: 409, message: "The balance operation was cancelled" },
  ACCOUNT_GONE: {
    status: 409,
    message: "The request's account no longer exists: it was rejected, no money was moved",
  },
  TOO_MANY_PENDING_REQUESTS: { status: 409, message: "Too many pending requests" },
  CONFLICT: { status: 409, message: "Conflicting state" },
  PAYLOAD_TOO_LARGE: { status: 413, message: "Request body too large" },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: "Send the body as application/json" },
  RATE_LIMITED: { status: 429, message: "Too many requests" },
  SSE_LIMIT: { status: 429, message: "Too many event streams from this address" },
  STORE_UNAVAILABLE: { status: 503, message: "A store (MongoDB or Redis) is unavailable" },
  BALANCE_CONTENDED: { status: 503, message: "Balance update could not be applied, retry" },
  BALANCE_DEFERRED: {
    status: 503,
    message: "Balance update taken over by recovery; it completes exactly once",
  },
  NOT_READY: { status: 503, message: "Not ready" },
  /** A framework error with no code of its own; answered with the framework's status. */
  HTTP_ERROR: { status: 500, message: "Request failed" },
  INTERNAL: { status: 500, message: "Internal server error" },
} as const satisfies Record<string, { status: ContentfulStatusCode; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/**
 * The other catalogue: an app assembled wrong (plugins, services, hooks), a write the sync layer
 * refuses to version, a test-only switch outside tests. Never a client's doing, so not in the
 * OpenAPI document; always 500 if one ever reaches a request. Thrown with `setupError(code)`.
 */
export const SETUP_ERRORS = {
  CS_ERR_CONFIG: "Invalid configuration",
  CS_ERR_PLUGIN_INVALID: "Invalid plugin",
  CS_ERR_PLUGIN_DUPLICATE: "A plugin is loaded twice",
  CS_ERR_PLUGIN_DEPENDENCY: "A plugin's dependency is not loaded before it",
  CS_ERR_PLUGIN_HOOK: "A plugin declares a hook without run()",
  CS_ERR_SERVICE_DUPLICATE: "A service is provided twice",
  CS_ERR_SERVICE_MISSING: "A service no loaded plugin provides",
  CS_ERR_HOOK_NEXT_TWICE: "next() called multiple times",
  CS_ERR_COLLECTION_INVALID: "Invalid cached collection declaration",
  CS_ERR_COLLECTION_DUPLICATE: "A cached collection is declared twice",
  CS_ERR_UPDATE_SHAPE: "updates must be operator documents",
  CS_ERR_UPDATE_VERSION: "version and _id are managed by cachesync",
  CS_ERR_TEST_ONLY: "A test-only switch is set outside NODE_ENV=test",
  CS_ERR_CHANGE_STREAMS_UNSUPPORTED: "This MongoDB cannot open change streams",
  CS_ERR_WRITE_BEHIND_REFUSED: "A field may not be written behind (money, sensitive or owned)",
  CS_ERR_WRITE_BEHIND_FIELD: "A write-behind field is written by write-behind only",
} as const satisfies Record<string, string>;

export type SetupErrorCode = keyof typeof SETUP_ERRORS;
/** The HTTP status a catalogue code answers with. */
export type ErrorStatus<C extends ErrorCode = ErrorCode> = (typeof ERRORS)[C]["status"];

/**
 * Coded errors (Fastify's `lib/errors.js` shape): every error a client can cause carries a
 * stable `code` and the HTTP status it maps to, so no handler decides statuses ad hoc.
 */
export class AppError extends Error {
  /** Response headers the error implies (e.g. `Retry-After` on a 429). */
  headers?: Record<string, string>;
  constructor(
    readonly code: ErrorCode | SetupErrorCode,
    readonly status: ContentfulStatusCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "AppError";
  }

  /** The SPEC §5 error envelope of this error. */
  toEnvelope(): ErrorEnvelope {
    const { code, message, details } = this;
    return {
      success: false,
      error: details === undefined ? { code, message } : { code, message, details },
    };
  }
}

/** The catalogue error `code`, with its status; the message defaults to the catalogue's. */
export function appError(code: ErrorCode, message?: string, details?: unknown): AppError {
  const e = ERRORS[code];
  return new AppError(code, e.status, message ?? e.message, details);
}

/** A setup catalogue error (500); the message defaults to the catalogue's. */
export function setupError(code: SetupErrorCode, message?: string): AppError {
  return new AppError(code, 500, message ?? SETUP_ERRORS[code]);
}

/** True when `err` is a catalogue error with one of `codes` (a typo does not compile). */
export const hasErrorCode = (err: unknown, ...codes: (ErrorCode | SetupErrorCode)[]) =>
  err instanceof AppError && codes.includes(err.code);

/** The catalogue code for a status nothing more specific produced (framework errors). */
export function codeForStatus(status: number): ErrorCode {
  if (status === 401) return "UNAUTHORIZED";
  // Hono's validators throw 400 for a body that is not JSON and 415 for a wrong content type.
  if (status === 400) return "INVALID_JSON";
  if (status === 415) return "UNSUPPORTED_MEDIA_TYPE";
  if (status === 413) return "PAYLOAD_TOO_LARGE";
  if (status === 429) return "RATE_LIMITED";
  return "HTTP_ERROR";
}

// Shorthands by status, kept so code written before the catalogue still compiles; the code must
// be a catalogue code of that status. New code throws appError(code).
type CodeOf<S extends number> = {
  [C in ErrorCode]: ErrorStatus<C> extends S ? C : never;
}[ErrorCode];
export const badRequest = (
  message: string,
  details?: unknown,
  code: CodeOf<400> = "VALIDATION_ERROR",
) => appError(code, message, details);
export const unauthorized = (message?: string, code: CodeOf<401> = "UNAUTHORIZED") =>
  appError(code, message);
export const forbidden = (message?: string, code: CodeOf<403> = "FORBIDDEN") =>
  appError(code, message);
export const notFound = (message?: string, code: CodeOf<404> = "NOT_FOUND") =>
  appError(code, message);
export const conflict = (message: string, code: CodeOf<409> = "CONFLICT", details?: unknown) =>
  appError(code, message, details);
/** 429; `retryAfterMs` becomes `Retry-After` in whole seconds (at least 1). */
export const tooMany = (message?: string, code: CodeOf<429> = "RATE_LIMITED", retryAfterMs = 0) => {
  const err = appError(code, message);
  err.headers = { "retry-after": String(Math.max(1, Math.ceil(retryAfterMs / 1000))) };
  return err;
};

/** A store (MongoDB or Redis) cannot be reached in time. Always 503, never a hang. */
export class StoreUnavailableError extends AppError {
  constructor(
    readonly store: "mongo" | "redis",
    cause?: unknown,
  ) {
    super(
      "STORE_UNAVAILABLE",
      ERRORS.STORE_UNAVAILABLE.status,
      `${store === "mongo" ? "Database" : "Cache"} unavailable`,
    );
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
      ERRORS.DUPLICATE_KEY.status,
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

/** The envelope of a catalogue error, with its default message unless one is given. */
export function errorEnvelope(code: ErrorCode, message?: string, details?: unknown): ErrorEnvelope {
  return appError(code, message, details).toEnvelope();
}

export type SuccessEnvelope<T> = { success: true; data: T; message?: string };

export function ok<T>(data: T, message?: string): SuccessEnvelope<T> {
  return message === undefined ? { success: true, data } : { success: true, data, message };
}
