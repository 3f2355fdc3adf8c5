import type { Document } from "bson";
import { EngineError } from "../../../../src/adapters/memory/engine";
import { toNumber } from "../cursors";
import { type CommandHandler, docArray, optionalDoc, targetCollection } from "./context";
import { checkCommandFields, checkHint, checkStatementFields, letVariables } from "./options";

/** A write error entry as the server reports it (E11000 carries keyPattern/keyValue). */
function writeError(index: number, err: unknown): Document {
  if (err instanceof EngineError)
    return { index, code: err.code, errmsg: err.message, ...err.extra };
  return { index, code: 1, errmsg: err instanceof Error ? err.message : String(err) };
}

/** Runs each item of a batch write; an ordered batch stops at its first error, as the server does. */
function eachItem<T>(
  items: T[],
  ordered: boolean,
  run: (item: T, index: number) => void,
): Document[] {
  const errors: Document[] = [];
  for (let i = 0; i < items.length; i++) {
    try {
      run(items[i]!, i);
    } catch (err) {
      errors.push(writeError(i, err));
      if (ordered) break;
    }
  }
  return errors;
}

function withErrors(reply: Document, errors: Document[]): Document {
  return errors.length ? { ...reply, writeErrors: errors } : reply;
}

const insert: CommandHandler = (body, ctx) => {
  checkCommandFields(body, "insert");
  const coll = ctx.engine.db(ctx.db).collection(targetCollection(body, "insert"));
  let n = 0;
  const errors = eachItem(
    docArray(body.documents, "insert.documents"),
    body.ordered !== false,
    (doc) => {
      coll.insertOne(doc);
      n++;
    },
  );
  return withErrors({ n, ok: 1 }, errors);
};

const update: CommandHandler = (body, ctx) => {
  checkCommandFields(body, "update");
  const variables = letVariables(body);
  const coll = ctx.engine.db(ctx.db).collection(targetCollection(body, "update"));
  let n = 0;
  let nModified = 0;
  const upserted: Document[] = [];
  const statements = docArray(body.updates, "update.updates");
  // Statements are parsed with the command: a malformed one fails the whole command.
  for (const stmt of statements) checkStatementFields(stmt, "update", "updates");
  const errors = eachItem(statements, body.ordered !== false, (stmt, index) => {
    checkHint(coll, stmt.hint);
    const q = optionalDoc(stmt.q) ?? {};
    const u = stmt.u as Document;
    if (u === null || typeof u !== "object")
      throw new EngineError(
        9,
        "FailedToParse",
        "BSON field 'update.updates.u' is missing but a required field",
      );
    const multi = stmt.multi === true;
    if (multi && !Array.isArray(u) && !Object.keys(u).some((k) => k.startsWith("$"))) {
      throw new EngineError(
        9,
        "FailedToParse",
        "multi update is not supported for replacement-style update",
      );
    }
    // `c`: constants of a pipeline update, visible like `let` variables.
    const constants = optionalDoc(stmt.c);
    const res = coll.update(q, u, {
      multi,
      upsert: stmt.upsert === true,
      arrayFilters: Array.isArray(stmt.arrayFilters)
        ? (stmt.arrayFilters as Document[])
        : undefined,
      variables: constants ? { ...variables, ...constants } : variables,
      collation: optionalDoc(stmt.collation),
    });
    if (res.upserted) {
      n += 1;
      upserted.push({ index, _id: res.upsertedId });
    } else {
      n += res.matchedCount;
      nModified += res.modifiedCount;
    }
  });
  const reply: Document = { n, nModified, ok: 1 };
  if (upserted.length) reply.upserted = upserted;
  return withErrors(reply, errors);
};

const deleteCommand: CommandHandler = (body, ctx) => {
  checkCommandFields(body, "delete");
  const variables = letVariables(body);
  const coll = ctx.engine.db(ctx.db).existing(targetCollection(body, "delete"));
  let n = 0;
  const statements = docArray(body.deletes, "delete.deletes");
  for (const stmt of statements) checkStatementFields(stmt, "delete", "deletes");
  const errors = eachItem(statements, body.ordered !== false, (stmt) => {
    checkHint(coll, stmt.hint);
    if (!coll) return;
    n += coll.delete(optionalDoc(stmt.q) ?? {}, {
      limit: toNumber(stmt.limit) ?? 0,
      variables,
      collation: optionalDoc(stmt.collation),
    });
  });
  return withErrors({ n, ok: 1 }, errors);
};

/** A unique violation here is a top-level command error (code 11000, codeName DuplicateKey). */
const findAndModify: CommandHandler = (body, ctx) => {
  checkCommandFields(body, "findAndModify");
  const name = targetCollection(body, "findAndModify" in body ? "findAndModify" : "findandmodify");
  const coll = ctx.engine.db(ctx.db).collection(name);
  checkHint(coll, body.hint);
  const update = body.update;
  const res = coll.findAndModify(optionalDoc(body.query) ?? {}, {
    update: Array.isArray(update) ? (update as Document) : optionalDoc(update),
    variables: letVariables(body),
    collation: optionalDoc(body.collation),
    remove: body.remove === true,
    sort: optionalDoc(body.sort),
    returnNew: body.new === true,
    upsert: body.upsert === true,
    projection: optionalDoc(body.fields),
    arrayFilters: Array.isArray(body.arrayFilters) ? (body.arrayFilters as Document[]) : undefined,
  });
  return { lastErrorObject: res.lastErrorObject, value: res.value, ok: 1 };
};

export const writeCommands: Record<string, CommandHandler> = {
  insert,
  update,
  delete: deleteCommand,
  findAndModify,
  findandmodify: findAndModify,
};
