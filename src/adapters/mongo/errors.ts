import {
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoServerClosedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from "mongodb";
import { DuplicateKeyError, StoreUnavailableError } from "../../core/errors";

export const DUPLICATE_KEY_CODES: ReadonlySet<number> = new Set([11000, 11001, 12582]);

/**
 * Server answers that mean "not reachable right now" rather than "your request is wrong":
 * time limits, shutdowns, elections, host resolution.
 */
const UNAVAILABLE_CODES = new Set([
  6, 7, 50, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436,
]);

/** Driver-internal classes the driver does not export. */
const UNAVAILABLE_NAMES = new Set([
  "MongoPoolClosedError",
  "MongoWaitQueueTimeoutError",
  "PoolClosedError",
  "WaitQueueTimeoutError",
]);

/** Maps a driver error to the port's errors; anything else is a bug or a bad request and passes through. */
export function mapMongoError(err: unknown): unknown {
  if (err instanceof DuplicateKeyError || err instanceof StoreUnavailableError) return err;
  if (
    err instanceof MongoError &&
    typeof err.code === "number" &&
    DUPLICATE_KEY_CODES.has(err.code)
  ) {
    return duplicateKey(err);
  }
  if (isUnavailable(err)) return new StoreUnavailableError("mongo", err);
  return err;
}

function isUnavailable(err: unknown): boolean {
  if (
    err instanceof MongoNetworkError ||
    err instanceof MongoServerSelectionError ||
    err instanceof MongoTopologyClosedError ||
    err instanceof MongoNotConnectedError ||
    err instanceof MongoServerClosedError ||
    err instanceof MongoOperationTimeoutError
  ) {
    return true;
  }
  if (
    err instanceof MongoServerError &&
    typeof err.code === "number" &&
    UNAVAILABLE_CODES.has(err.code)
  )
    return true;
  return err instanceof Error && UNAVAILABLE_NAMES.has(err.name);
}

function duplicateKey(err: MongoError): DuplicateKeyError {
  const fields = err as MongoError & { keyPattern?: unknown; keyValue?: unknown };
  const keyPattern = asRecord(fields.keyPattern);
  const keyValue = asRecord(fields.keyValue);
  if (keyPattern && keyValue) return new DuplicateKeyError(keyPattern, keyValue);
  // Servers before 4.4 only say it in the message: "… index: email_1 dup key: { : "x" }".
  const index = /index: (\S+) dup key/.exec(err.message)?.[1] ?? "";
  const parsed: Record<string, unknown> = {};
  for (const m of index.matchAll(/(.+?)_(-?1)(?:_|$)/g)) parsed[m[1] as string] = Number(m[2]);
  return new DuplicateKeyError(keyPattern ?? parsed, keyValue ?? {});
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
