import type { Document } from "bson";
import { EngineError } from "../../../../src/adapters/memory/engine";
import { toNumber } from "../cursors";
import { isChangeStream, openChangeStream } from "./change-stream";
import {
  type CommandContext,
  type CommandHandler,
  docArray,
  optionalDoc,
  targetCollection,
} from "./context";
import { checkCommandFields, checkHint, letVariables, refuseUnsupported } from "./options";

const find: CommandHandler = (body, ctx) => {
  checkCommandFields(body, "find");
  refuseUnsupported(body, [
    "min",
    "max",
    "returnKey",
    "showRecordId",
    "tailable",
    "awaitData",
    "oplogReplay",
  ]);
  const name = targetCollection(body, "find");
  const coll = ctx.engine.db(ctx.db).existing(name);
  checkHint(coll, body.hint);
  const limit = toNumber(body.limit) ?? 0;
  const docs = coll
    ? coll.find(optionalDoc(body.filter) ?? {}, {
        sort: optionalDoc(body.sort),
        projection: optionalDoc(body.projection),
        skip: toNumber(body.skip),
        limit: Math.abs(limit),
        variables: letVariables(body),
        collation: optionalDoc(body.collation),
      })
    : [];
  const singleBatch = body.singleBatch === true || limit < 0;
  return {
    cursor: ctx.cursors.first(`${ctx.db}.${name}`, docs, toNumber(body.batchSize), singleBatch),
    ok: 1,
  };
};

const getMore: CommandHandler = async (body, ctx) => {
  const id = toNumber(body.getMore) ?? 0;
  if (ctx.streams.has(id)) {
    const batch = await ctx.streams.more(id, toNumber(body.batchSize), toNumber(body.maxTimeMS));
    if (batch) return { cursor: batch, ok: 1 };
  }
  const cursor = ctx.cursors.more(id, toNumber(body.batchSize));
  if (!cursor) throw new EngineError(43, "CursorNotFound", `cursor id ${id} not found`);
  return { cursor, ok: 1 };
};

const killCursors: CommandHandler = (body, ctx) => {
  const killed: unknown[] = [];
  const notFound: unknown[] = [];
  for (const raw of Array.isArray(body.cursors) ? body.cursors : []) {
    const id = toNumber(raw) ?? 0;
    (ctx.cursors.kill(id) || ctx.streams.kill(id) ? killed : notFound).push(raw);
  }
  return {
    cursorsKilled: killed,
    cursorsNotFound: notFound,
    cursorsAlive: [],
    cursorsUnknown: [],
    ok: 1,
  };
};

const count: CommandHandler = (body, ctx) => {
  checkCommandFields(body, "count");
  const coll = ctx.engine.db(ctx.db).existing(targetCollection(body, "count"));
  checkHint(coll, body.hint);
  const n = coll
    ? coll.count(optionalDoc(body.query) ?? {}, {
        skip: toNumber(body.skip),
        limit: toNumber(body.limit),
        collation: optionalDoc(body.collation),
      })
    : 0;
  return { n, ok: 1 };
};

const distinct: CommandHandler = (body, ctx) => {
  checkCommandFields(body, "distinct");
  const coll = ctx.engine.db(ctx.db).existing(targetCollection(body, "distinct"));
  if (typeof body.key !== "string")
    throw new EngineError(
      9,
      "FailedToParse",
      "BSON field 'distinct.key' is missing but a required field",
    );
  return {
    values: coll
      ? coll.distinct(body.key, optionalDoc(body.query) ?? {}, optionalDoc(body.collation))
      : [],
    ok: 1,
  };
};

const aggregate: CommandHandler = (body, ctx) => {
  checkCommandFields(body, "aggregate");
  const pipeline = listLocalSessions(docArray(body.pipeline, "aggregate.pipeline"), ctx);
  if (isChangeStream(pipeline)) return openChangeStream(body, pipeline, ctx);
  const cursorOpts = optionalDoc(body.cursor);
  if (!cursorOpts && body.explain !== true) {
    throw new EngineError(
      9,
      "FailedToParse",
      "The 'cursor' option is required, except for aggregate with the explain argument",
    );
  }
  // `aggregate: 1` is a database-level pipeline ($documents, $currentOp …): run it over nothing.
  const name = typeof body.aggregate === "string" ? body.aggregate : undefined;
  const db = ctx.engine.db(ctx.db);
  checkHint(name ? db.existing(name) : undefined, body.hint);
  const docs = db.aggregate(name, pipeline, {
    variables: letVariables(body),
    collation: optionalDoc(body.collation),
  });
  return {
    cursor: ctx.cursors.first(
      `${ctx.db}.${name ?? "$cmd.aggregate"}`,
      docs,
      toNumber(cursorOpts?.batchSize),
    ),
    ok: 1,
  };
};

/** A leading `$listLocalSessions` lists the sessions the server has seen, as a `$documents` stage. */
function listLocalSessions(pipeline: Document[], ctx: CommandContext): Document[] {
  const first = pipeline[0];
  if (!first || !("$listLocalSessions" in first)) return pipeline;
  return [{ $documents: { $literal: ctx.sessions?.() ?? [] } }, ...pipeline.slice(1)];
}

export const readCommands: Record<string, CommandHandler> = {
  find,
  getMore,
  killCursors,
  count,
  distinct,
  aggregate,
};
