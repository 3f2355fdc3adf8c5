import { type Document, Timestamp } from "bson";
import { deepClone } from "./clone";
import { EngineError } from "./errors";
import { canonicalKey } from "./keys";

/** A position in the change history: MongoDB's cluster time (seconds, increment) as one number. */
export type ClusterSeq = bigint;

/** What a committed write looked like, as the collection reports it. */
export interface CommittedWrite {
  coll: string;
  before: Document | null;
  after: Document | null;
  /** A replacement document (not an operator update) produced `after`. */
  replace: boolean;
}

/** One entry of the log: enough to build the change event MongoDB would emit. */
export interface ChangeRecord {
  seq: ClusterSeq;
  wallTime: Date;
  coll: string;
  op: "insert" | "update" | "replace" | "delete";
  documentKey: Document;
  /** The document as written, for insert and replace events. */
  fullDocument?: Document;
  updateDescription?: { updatedFields: Document; removedFields: string[] };
}

export const toTimestamp = (seq: ClusterSeq): Timestamp =>
  new Timestamp({ t: Number(seq >> 32n), i: Number(seq & 0xffffffffn) });

export const fromTimestamp = (ts: Timestamp): ClusterSeq =>
  (BigInt(ts.high >>> 0) << 32n) | BigInt(ts.low >>> 0);

/**
 * The engine-wide cluster time: strictly increasing, seconds in the high half like mongod's, so
 * every write gets its own position and `startAtOperationTime` means what it means on a server.
 */
export class ClusterClock {
  private last: ClusterSeq = BigInt(Math.floor(Date.now() / 1000)) << 32n;

  tick(): ClusterSeq {
    const now = BigInt(Math.floor(Date.now() / 1000)) << 32n;
    this.last = now > this.last ? now | 1n : this.last + 1n;
    return this.last;
  }

  get current(): ClusterSeq {
    return this.last;
  }
}

/** The resume token of a position: `{ _data }` with the cluster time in hex, as mongod's begin. */
export function resumeToken(seq: ClusterSeq): Document {
  return { _data: `82${seq.toString(16).padStart(16, "0")}` };
}

/** The position a resume token names; a token this engine did not issue is refused as mongod does. */
export function parseResumeToken(token: unknown): ClusterSeq {
  const data = (token as { _data?: unknown } | null)?._data;
  if (typeof data !== "string" || !/^82[0-9a-f]{16}$/.test(data)) {
    throw new EngineError(
      50811,
      "Location50811",
      "KeyString format error: the resume token was not issued by this server",
    );
  }
  return BigInt(`0x${data.slice(2)}`);
}

export const historyLost = () =>
  new EngineError(
    286,
    "ChangeStreamHistoryLost",
    "Resume of change stream was not possible, as the resume point may no longer be in the oplog.",
  );

/**
 * A database's oplog: committed writes in cluster-time order, bounded by `capacity` (the oldest
 * fall off, like a capped oplog), with waiters woken on every append (awaitData).
 */
export class ChangeLog {
  private records: ChangeRecord[] = [];
  /** The newest position that fell off: resuming from before it has lost history. */
  private trimmedThrough: ClusterSeq = 0n;
  private waiters = new Set<() => void>();

  constructor(
    private readonly clock: ClusterClock,
    /** 0: nothing is recorded (a standalone server has no oplog). */
    readonly capacity: number,
  ) {}

  record(write: CommittedWrite): void {
    const seq = this.clock.tick();
    this.records.push(toRecord(seq, write));
    // Trimmed in steps of a tenth, not on every write: a slice per write would be O(history).
    if (this.records.length > this.capacity + Math.floor(this.capacity / 10))
      this.trim(this.capacity);
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const wake of waiters) wake();
  }

  /** Records after `seq`, at most `limit`; throws ChangeStreamHistoryLost if some were trimmed. */
  since(seq: ClusterSeq, limit = Number.POSITIVE_INFINITY): ChangeRecord[] {
    if (seq < this.trimmedThrough) throw historyLost();
    const out: ChangeRecord[] = [];
    // Binary search for the first record after `seq`: the log is sorted by construction.
    let lo = 0;
    let hi = this.records.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.records[mid] as ChangeRecord).seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.records.length && out.length < limit; i++)
      out.push(this.records[i] as ChangeRecord);
    return out;
  }

  /** Resolves on the next append or after `ms`, whichever comes first. */
  waitForAppend(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  /** Keeps only the newest `keep` records (tests use it to simulate a rolled-over oplog). */
  trim(keep = 0): void {
    const drop = Math.max(0, this.records.length - keep);
    if (drop === 0) {
      this.trimmedThrough = this.clock.current;
      return;
    }
    this.trimmedThrough = (this.records[drop - 1] as ChangeRecord).seq;
    this.records = this.records.slice(drop);
  }

  get size(): number {
    return this.records.length;
  }
}

function toRecord(seq: ClusterSeq, w: CommittedWrite): ChangeRecord {
  const doc = (w.after ?? w.before) as Document;
  const base = {
    seq,
    wallTime: new Date(),
    coll: w.coll,
    documentKey: { _id: deepClone(doc._id) },
  };
  if (!w.before) return { ...base, op: "insert", fullDocument: deepClone(w.after as Document) };
  if (!w.after) return { ...base, op: "delete" };
  if (w.replace) return { ...base, op: "replace", fullDocument: deepClone(w.after) };
  return { ...base, op: "update", updateDescription: diffDocuments(w.before, w.after) };
}

/**
 * MongoDB's `updateDescription`: fields set (dotted paths into sub-documents both versions
 * have) and fields removed. Arrays are compared whole.
 */
export function diffDocuments(
  before: Document,
  after: Document,
  prefix = "",
  out: { updatedFields: Document; removedFields: string[] } = {
    updatedFields: {},
    removedFields: [],
  },
): { updatedFields: Document; removedFields: string[] } {
  for (const [key, value] of Object.entries(after)) {
    const path = prefix + key;
    const old = before[key];
    if (isSubDocument(value) && isSubDocument(old)) diffDocuments(old, value, `${path}.`, out);
    else if (!(key in before) || !sameValue(old, value)) out.updatedFields[path] = deepClone(value);
  }
  for (const key of Object.keys(before)) if (!(key in after)) out.removedFields.push(prefix + key);
  return out;
}

function isSubDocument(v: unknown): v is Document {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** MongoDB equality for the diff, without building keys for whole arrays (documents are cloned per write, so big unchanged arrays are compared on every update). */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  if (isSubDocument(a) && isSubDocument(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    for (const k of ka) if (!(k in b) || !sameValue(a[k], b[k])) return false;
    return true;
  }
  return canonicalKey(a) === canonicalKey(b);
}
