import type { Document } from "bson";
import {
  type ChangeEvent,
  type ChangeStreamHandle,
  type Doc,
  ResumePositionLostError,
  type ResumeToken,
  type WatchOptions,
} from "../../core/ports/document-store";
import { type EngineChangeStream, type EngineDatabase, EngineError } from "./engine";

const BATCH = 100;

/** A change stream on the embedded engine: the same events and tokens the test server sends. */
export class MemoryChangeStream implements ChangeStreamHandle {
  private stream: EngineChangeStream | null = null;
  private buffer: Document[] = [];
  private token: ResumeToken | null = null;
  private closed = false;
  private wakeOnClose: (() => void) | null = null;

  constructor(
    private readonly db: EngineDatabase,
    private readonly collections: readonly string[],
    private readonly options: WatchOptions,
  ) {}

  async next(): Promise<ChangeEvent | null> {
    if (this.closed) return null;
    const stream = this.open();
    if (this.buffer.length === 0) this.buffer = positionChecked(() => stream.read(BATCH));
    if (this.buffer.length === 0) {
      await Promise.race([
        stream.wait(this.options.maxAwaitMs ?? 1000),
        new Promise<void>((resolve) => {
          this.wakeOnClose = resolve;
        }),
      ]);
      this.buffer = this.closed ? [] : positionChecked(() => stream.read(BATCH));
    }
    const raw = this.buffer.shift();
    // Like the driver: past the last event of a drained batch, the post-batch token.
    this.token = (
      this.buffer.length === 0 || !raw ? stream.postBatchResumeToken : raw._id
    ) as ResumeToken;
    return raw ? toEvent(raw) : null;
  }

  get resumeToken(): ResumeToken | null {
    return this.token;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wakeOnClose?.();
  }

  private open(): EngineChangeStream {
    if (this.stream) return this.stream;
    this.stream = positionChecked(() =>
      this.db.watch(null, { resumeAfter: this.options.resumeAfter }, [
        { $match: { "ns.coll": { $in: [...this.collections] } } },
      ]),
    );
    this.token = this.stream.postBatchResumeToken as ResumeToken;
    return this.stream;
  }
}

/** The engine refuses a position it cannot resume from (trimmed, unknown token) with an EngineError. */
function positionChecked<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof EngineError) throw new ResumePositionLostError(err.message, err);
    throw err;
  }
}

function toEvent(raw: Document): ChangeEvent {
  const event: ChangeEvent = {
    op: raw.operationType,
    collection: raw.ns.coll,
    id: raw.documentKey._id,
    committedAt: raw.wallTime,
    token: raw._id,
  };
  if ("fullDocument" in raw) event.fullDocument = raw.fullDocument as Doc | null;
  if (raw.updateDescription) {
    event.updatedFields = Object.keys(raw.updateDescription.updatedFields);
    event.removedFields = raw.updateDescription.removedFields;
  }
  return event;
}
