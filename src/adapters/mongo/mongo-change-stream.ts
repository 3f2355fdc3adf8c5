import {
  type ChangeStream,
  type ChangeStreamDocument,
  type Db,
  type Document,
  MongoServerError,
} from "mongodb";
import {
  type ChangeEvent,
  type ChangeStreamHandle,
  type Doc,
  ResumePositionLostError,
  type ResumeToken,
  type WatchOptions,
} from "../../core/ports/document-store";
import { toPortBson } from "./bson-interop";
import { mapMongoError } from "./errors";

/**
 * Server errors that mean "this position cannot be resumed from": history rolled off the oplog
 * (286 ChangeStreamHistoryLost, 136 CappedPositionLost), a fatal stream error (280), a token
 * mongod cannot parse (50811 and friends, 9 FailedToParse, 2 BadValue on the resume option).
 */
const POSITION_LOST = new Set([286, 136, 280, 50811, 9, 2]);

/** `db.watch` on the given collections through the official driver, which resumes on its own. */
export class MongoChangeStream implements ChangeStreamHandle {
  private readonly stream: ChangeStream;

  constructor(
    db: Db,
    private readonly ready: () => Promise<void>,
    collections: readonly string[],
    options: WatchOptions,
  ) {
    this.stream = db.watch([{ $match: { "ns.coll": { $in: [...collections] } } }], {
      fullDocument: "updateLookup",
      maxAwaitTimeMS: options.maxAwaitMs ?? 1000,
      ...(options.resumeAfter ? { resumeAfter: options.resumeAfter } : {}),
    });
    // Errors surface through next(); the emitter must not crash the process meanwhile.
    this.stream.on("error", () => {});
  }

  async next(): Promise<ChangeEvent | null> {
    try {
      await this.ready();
      const change = await this.stream.tryNext();
      return change ? toEvent(toPortBson(change)) : null;
    } catch (err) {
      if (err instanceof MongoServerError && POSITION_LOST.has(Number(err.code)))
        throw new ResumePositionLostError(err.message, err);
      throw mapMongoError(err);
    }
  }

  get resumeToken(): ResumeToken | null {
    return (this.stream.resumeToken as ResumeToken | undefined) ?? null;
  }

  async close(): Promise<void> {
    await this.stream.close().catch(() => {});
  }
}

function toEvent(change: ChangeStreamDocument<Document>): ChangeEvent | null {
  if (
    change.operationType !== "insert" &&
    change.operationType !== "update" &&
    change.operationType !== "replace" &&
    change.operationType !== "delete"
  )
    return null;
  const wall = (change as { wallTime?: Date }).wallTime;
  const event: ChangeEvent = {
    op: change.operationType,
    collection: change.ns.coll,
    id: change.documentKey._id,
    committedAt: wall ?? new Date(change.clusterTime ? change.clusterTime.high * 1000 : Date.now()),
    token: change._id as ResumeToken,
  };
  if ("fullDocument" in change) event.fullDocument = (change.fullDocument ?? null) as Doc | null;
  if (change.operationType === "update") {
    event.updatedFields = Object.keys(change.updateDescription.updatedFields ?? {});
    event.removedFields = change.updateDescription.removedFields ?? [];
  }
  return event;
}
