import { type Document, Long } from "bson";
import type { EngineChangeStream } from "../../../src/adapters/memory/engine";

/** mongod's await time for a tailable awaitData getMore sent without maxTimeMS. */
const DEFAULT_AWAIT_MS = 1000;
/** Change-stream cursor ids live above the plain cursors' range, so one getMore can tell them apart. */
const FIRST_ID = 2 ** 40;

interface StreamCursor {
  ns: string;
  stream: EngineChangeStream;
}

/**
 * Open change-stream cursors: tailable, never exhausted, each getMore waiting (awaitData) up to
 * its `maxTimeMS` for the next event and always answering a `postBatchResumeToken`.
 */
export class ChangeStreamCursors {
  private readonly open = new Map<number, StreamCursor>();
  private nextId = FIRST_ID;

  /** The aggregate reply's `cursor` field: what is already there (usually nothing), and the id. */
  first(ns: string, stream: EngineChangeStream, batchSize: number | undefined): Document {
    const id = this.nextId++;
    this.open.set(id, { ns, stream });
    const firstBatch = batchSize === 0 ? [] : stream.read(batchSize ?? 101);
    return {
      firstBatch,
      postBatchResumeToken: stream.postBatchResumeToken,
      id: Long.fromNumber(id),
      ns,
    };
  }

  has(id: number): boolean {
    return this.open.has(id);
  }

  /** The next batch, waiting up to `maxTimeMS` when nothing is there yet. */
  async more(id: number, batchSize: number | undefined, maxTimeMS: number | undefined) {
    const cursor = this.open.get(id);
    if (!cursor) return undefined;
    const limit = batchSize && batchSize > 0 ? batchSize : Number.POSITIVE_INFINITY;
    const deadline = Date.now() + (maxTimeMS ?? DEFAULT_AWAIT_MS);
    let batch = cursor.stream.read(limit);
    while (batch.length === 0 && this.open.has(id)) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await cursor.stream.wait(left);
      batch = cursor.stream.read(limit);
    }
    return {
      nextBatch: batch,
      postBatchResumeToken: cursor.stream.postBatchResumeToken,
      id: Long.fromNumber(id),
      ns: cursor.ns,
    };
  }

  kill(id: number): boolean {
    return this.open.delete(id);
  }

  /** A restarted server has no cursors: drivers get CursorNotFound, which they resume from. */
  clear(): void {
    this.open.clear();
  }
}
