import type { Document } from "bson";

/**
 * An error shaped like a MongoDB server error (`code`, `codeName`, `errmsg`), so the wire server
 * can reply with it verbatim and the memory adapter can map it to the port's errors.
 */
export class EngineError extends Error {
  constructor(
    readonly code: number,
    readonly codeName: string,
    message: string,
    /** Extra fields the server puts next to `errmsg` (e.g. keyPattern/keyValue for E11000). */
    readonly extra: Document = {},
  ) {
    super(message);
    this.name = "EngineError";
  }

  toReply(): Document {
    return { ok: 0, errmsg: this.message, code: this.code, codeName: this.codeName, ...this.extra };
  }
}

export class DuplicateKeyEngineError extends EngineError {
  constructor(
    ns: string,
    indexName: string,
    readonly keyPattern: Document,
    readonly keyValue: Document,
  ) {
    super(
      11000,
      "DuplicateKey",
      `E11000 duplicate key error collection: ${ns} index: ${indexName} dup key: ${formatKeyValue(keyValue)}`,
      { keyPattern, keyValue },
    );
    this.name = "DuplicateKeyEngineError";
  }
}

export const badValue = (message: string) => new EngineError(2, "BadValue", message);
export const failedToParse = (message: string) => new EngineError(9, "FailedToParse", message);

function formatKeyValue(keyValue: Document): string {
  const parts = Object.entries(keyValue).map(([k, v]) => `${k}: ${formatScalar(v)}`);
  return `{ ${parts.join(", ")} }`;
}

function formatScalar(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (v instanceof Date) return `new Date(${v.getTime()})`;
  if (v && typeof v === "object" && "toHexString" in v && typeof v.toHexString === "function") {
    return `ObjectId('${String(v.toHexString())}')`;
  }
  return v === undefined ? "null" : (JSON.stringify(v) ?? String(v));
}
