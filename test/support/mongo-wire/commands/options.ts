import type { Document } from "bson";
import { type EngineCollection, EngineError } from "../../../../src/adapters/memory/engine";
import { optionalDoc } from "./context";

/**
 * Fields every command may carry (mongod's generic arguments): sessions, concerns, API
 * versioning, cluster metadata. The engine has one node and no transactions, so these change
 * nothing; `txnNumber`/`startTransaction` are refused by the server before any handler runs.
 */
const GENERIC = new Set([
  "$db",
  "lsid",
  "txnNumber",
  "autocommit",
  "startTransaction",
  "stmtId",
  "$clusterTime",
  "$readPreference",
  "$audit",
  "$client",
  "readConcern",
  "writeConcern",
  "maxTimeMS",
  "comment",
  "apiVersion",
  "apiStrict",
  "apiDeprecationErrors",
  "mayBypassWriteBlocking",
  "txnRetryCounter",
  "$configTime",
  "$topologyTime",
]);

/** Fields of each command as mongod 7.0 defines them (its IDL); anything else is code 40415. */
export const COMMAND_FIELDS: Record<string, readonly string[]> = {
  find: [
    "filter",
    "sort",
    "projection",
    "hint",
    "skip",
    "limit",
    "batchSize",
    "singleBatch",
    "let",
    "collation",
    "allowDiskUse",
    "noCursorTimeout",
    "allowPartialResults",
    "min",
    "max",
    "returnKey",
    "showRecordId",
    "tailable",
    "awaitData",
    "oplogReplay",
    "readOnce",
  ],
  insert: ["documents", "ordered", "bypassDocumentValidation"],
  createIndexes: ["indexes", "commitQuorum"],
  update: ["updates", "ordered", "bypassDocumentValidation", "let"],
  delete: ["deletes", "ordered", "let"],
  findAndModify: [
    "query",
    "sort",
    "remove",
    "update",
    "new",
    "fields",
    "upsert",
    "bypassDocumentValidation",
    "collation",
    "arrayFilters",
    "hint",
    "let",
  ],
  count: ["query", "limit", "skip", "hint", "collation", "fields"],
  distinct: ["key", "query", "collation"],
  aggregate: [
    "pipeline",
    "explain",
    "allowDiskUse",
    "cursor",
    "bypassDocumentValidation",
    "collation",
    "hint",
    "let",
  ],
};

/** Fields of one statement inside `update.updates` / `delete.deletes` (7.0: no `sort` yet). */
export const STATEMENT_FIELDS: Record<string, readonly string[]> = {
  updates: ["q", "u", "c", "upsert", "multi", "collation", "arrayFilters", "hint"],
  deletes: ["q", "limit", "collation", "hint"],
};

/** Refuses a field the command does not define, as mongod 7.0 does (code 40415). */
export function checkCommandFields(body: Document, command: string): void {
  const own = new Set(COMMAND_FIELDS[command] ?? []);
  const name = Object.keys(body)[0] ?? command;
  for (const field of Object.keys(body)) {
    if (field === name || own.has(field) || GENERIC.has(field)) continue;
    throw unknownField(`${command}.${field}`);
  }
}

export function checkStatementFields(stmt: Document, command: string, list: string): void {
  const own = new Set(STATEMENT_FIELDS[list] ?? []);
  for (const field of Object.keys(stmt)) {
    if (!own.has(field)) throw unknownField(`${command}.${list}.${field}`);
  }
}

function unknownField(path: string): EngineError {
  return new EngineError(40415, "Location40415", `BSON field '${path}' is an unknown field.`);
}

/** NotImplemented (238): a MongoDB feature the embedded engine refuses rather than imitates. */
export function notImplemented(what: string): EngineError {
  return new EngineError(238, "NotImplemented", `${what} is not supported by the embedded engine`);
}

/** Options that change results and that the engine does not implement: refused, never ignored. */
export function refuseUnsupported(body: Document, fields: readonly string[]): void {
  for (const field of fields) {
    const value = body[field];
    if (value === undefined || value === false) continue;
    throw notImplemented(`the '${field}' option`);
  }
}

/** `hint` must name an existing index of an existing collection (BadValue otherwise, as mongod). */
export function checkHint(coll: EngineCollection | undefined, hint: unknown): void {
  if (hint === undefined) return;
  if (!coll) {
    // mongod accepts any hint on a collection that does not exist: there is no plan to make.
    return;
  }
  coll.checkHint(hint);
}

/** The `let` document of a command, if any. */
export function letVariables(body: Document): Document | undefined {
  if (body.let === undefined) return undefined;
  const vars = optionalDoc(body.let);
  if (!vars) throw new EngineError(14, "TypeMismatch", "BSON field 'let' is the wrong type");
  return vars;
}
