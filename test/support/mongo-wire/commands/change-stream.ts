import type { Document, Timestamp } from "bson";
import { type ChangeStreamSpec, EngineError } from "../../../../src/adapters/memory/engine";
import { toNumber } from "../cursors";
import { type CommandContext, optionalDoc } from "./context";

/** True for `aggregate` whose first stage is `$changeStream`. */
export function isChangeStream(pipeline: Document[]): boolean {
  return pipeline[0] !== undefined && "$changeStream" in pipeline[0];
}

/**
 * `aggregate` with `$changeStream`: refused on a standalone with mongod's own error, otherwise a
 * tailable cursor over the database's change log (one collection, or all with `aggregate: 1`).
 */
export function openChangeStream(
  body: Document,
  pipeline: Document[],
  ctx: CommandContext,
): Document {
  if (!ctx.replSet) {
    throw new EngineError(
      40573,
      "Location40573",
      "The $changeStream stage is only supported on replica sets",
    );
  }
  const options = optionalDoc(pipeline[0]?.$changeStream) ?? {};
  if (options.allChangesForCluster === true)
    throw new EngineError(
      40573,
      "Location40573",
      "allChangesForCluster is not supported by the test server",
    );
  const spec: ChangeStreamSpec = {
    fullDocument: options.fullDocument as ChangeStreamSpec["fullDocument"],
    resumeAfter: optionalDoc(options.resumeAfter),
    startAfter: optionalDoc(options.startAfter),
    startAtOperationTime: options.startAtOperationTime as Timestamp | undefined,
  };
  const coll = typeof body.aggregate === "string" ? body.aggregate : null;
  const stream = ctx.engine.db(ctx.db).watch(coll, spec, pipeline.slice(1));
  const ns = `${ctx.db}.${coll ?? "$cmd.aggregate"}`;
  return {
    cursor: ctx.streams.first(ns, stream, toNumber(optionalDoc(body.cursor)?.batchSize)),
    ok: 1,
  };
}
