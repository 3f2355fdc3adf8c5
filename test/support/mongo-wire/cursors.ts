import { type Document, Long } from "bson";

/** The server's default first batch; later batches take whatever is left unless batchSize says otherwise. */
const DEFAULT_FIRST_BATCH = 101;

interface OpenCursor {
  ns: string;
  remaining: Document[];
}

/** Server-wide cursors: a driver may issue getMore on any pooled connection. */
export class CursorRegistry {
  private readonly open = new Map<number, OpenCursor>();
  private nextId = 1;

  /** The `cursor` reply field for a command returning `docs`; parks the rest when they do not fit. */
  first(
    ns: string,
    docs: Document[],
    batchSize: number | undefined,
    singleBatch = false,
  ): Document {
    const size = batchSize && batchSize > 0 ? batchSize : DEFAULT_FIRST_BATCH;
    const firstBatch = docs.slice(0, size);
    let id = 0;
    if (!singleBatch && docs.length > size) {
      id = this.nextId++;
      this.open.set(id, { ns, remaining: docs.slice(size) });
    }
    return { firstBatch, id: Long.fromNumber(id), ns };
  }

  /** The next batch, or undefined for an unknown cursor. */
  more(id: number, batchSize: number | undefined): Document | undefined {
    const cursor = this.open.get(id);
    if (!cursor) return undefined;
    const size = batchSize && batchSize > 0 ? batchSize : cursor.remaining.length;
    const nextBatch = cursor.remaining.splice(0, size);
    const exhausted = cursor.remaining.length === 0;
    if (exhausted) this.open.delete(id);
    return { nextBatch, id: Long.fromNumber(exhausted ? 0 : id), ns: cursor.ns };
  }

  kill(id: number): boolean {
    return this.open.delete(id);
  }

  get size(): number {
    return this.open.size;
  }
}

/** A cursor id or count from the wire: int32, int64 (promoted to number) or Long. */
export function toNumber(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  if (value instanceof Long) return value.toNumber();
  return undefined;
}
