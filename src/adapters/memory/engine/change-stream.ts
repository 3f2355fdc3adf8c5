import type { Document, Timestamp } from "bson";
import {
  type ChangeLog,
  type ChangeRecord,
  type ClusterSeq,
  fromTimestamp,
  parseResumeToken,
  resumeToken,
  toTimestamp,
} from "./change-log";
import { deepClone } from "./clone";
import { badValue, EngineError } from "./errors";
import { runAggregate } from "./query";

/** The `$changeStream` stage's options, as the driver sends them. */
export interface ChangeStreamSpec {
  fullDocument?: "default" | "updateLookup" | "whenAvailable" | "required";
  resumeAfter?: Document;
  startAfter?: Document;
  startAtOperationTime?: Timestamp;
}

/** Stages MongoDB allows after `$changeStream`. */
const ALLOWED_STAGES = new Set([
  "$match",
  "$project",
  "$addFields",
  "$set",
  "$unset",
  "$replaceRoot",
  "$replaceWith",
  "$redact",
]);

export interface ChangeStreamSource {
  db: string;
  log: ChangeLog;
  /** The current document, for `fullDocument: "updateLookup"`. */
  lookup(coll: string, documentKey: Document): Document | null;
  clusterTime(): ClusterSeq;
}

/**
 * One open change stream over a database's log (all collections, or one): reads events after
 * its position, shaped as mongod 7 emits them, and knows its post-batch resume token.
 */
export class EngineChangeStream {
  private position: ClusterSeq;
  private readonly fullDocument: NonNullable<ChangeStreamSpec["fullDocument"]>;

  constructor(
    private readonly source: ChangeStreamSource,
    /** null: every collection of the database (`db.watch()`). */
    private readonly coll: string | null,
    spec: ChangeStreamSpec,
    private readonly pipeline: Document[] = [],
  ) {
    const fullDocument = spec.fullDocument ?? "default";
    if (!["default", "updateLookup", "whenAvailable", "required"].includes(fullDocument))
      throw badValue(`'${String(fullDocument)}' is not a valid fullDocument option`);
    this.fullDocument = fullDocument;
    for (const stage of pipeline) {
      const name = Object.keys(stage)[0] ?? "";
      if (!ALLOWED_STAGES.has(name))
        throw new EngineError(
          ChangeStreamStageError.code,
          ChangeStreamStageError.codeName,
          `${name} is not permitted in a $changeStream pipeline`,
        );
    }
    const token = spec.startAfter ?? spec.resumeAfter;
    if (spec.startAfter && spec.resumeAfter)
      throw badValue("Only one type of resume option is allowed, but multiple were found.");
    if (token) this.position = parseResumeToken(token);
    else if (spec.startAtOperationTime)
      this.position = fromTimestamp(spec.startAtOperationTime) - 1n;
    else this.position = source.clusterTime();
    // Refuses at once a resume point that fell out of the log, as mongod does on aggregate.
    source.log.since(this.position, 0);
  }

  /** Up to `limit` events after the position (none is not an error); advances the position. */
  read(limit: number): Document[] {
    const out: Document[] = [];
    let complete = true;
    for (const record of this.source.log.since(this.position)) {
      if (out.length >= limit) {
        complete = false;
        break;
      }
      this.position = record.seq;
      if (this.coll === null || record.coll === this.coll) out.push(this.event(record));
    }
    // Every record was considered: the high-water mark moves to the newest cluster time.
    if (complete) this.position = maxSeq(this.position, this.source.clusterTime());
    return this.pipeline.length ? runAggregate(out, this.pipeline, () => []) : out;
  }

  /** Resolves on the next write to the database or after `ms`. */
  wait(ms: number): Promise<void> {
    return this.source.log.waitForAppend(ms);
  }

  /** Where a driver resumes after the last batch: past every event returned or skipped. */
  get postBatchResumeToken(): Document {
    return resumeToken(this.position);
  }

  private event(r: ChangeRecord): Document {
    const event: Document = {
      _id: resumeToken(r.seq),
      operationType: r.op,
      clusterTime: toTimestamp(r.seq),
      wallTime: r.wallTime,
    };
    if (r.fullDocument) event.fullDocument = deepClone(r.fullDocument);
    else if (r.op === "update" && this.fullDocument !== "default")
      event.fullDocument = this.source.lookup(r.coll, r.documentKey);
    event.ns = { db: this.source.db, coll: r.coll };
    event.documentKey = deepClone(r.documentKey);
    if (r.updateDescription)
      event.updateDescription = {
        updatedFields: deepClone(r.updateDescription.updatedFields),
        removedFields: [...r.updateDescription.removedFields],
        truncatedArrays: [],
      };
    return event;
  }
}

const ChangeStreamStageError = { code: 31324, codeName: "Location31324" } as const;

const maxSeq = (a: ClusterSeq, b: ClusterSeq) => (a > b ? a : b);
