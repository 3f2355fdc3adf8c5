import { type Document, deserialize, Long, serialize } from "bson";

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_MSG = 2013;

const HEADER_SIZE = 16;
const CHECKSUM_PRESENT = 1 << 0;
const MORE_TO_COME = 1 << 1;
/** Beyond the 48 MB the server advertises: a peer sending this is not speaking the protocol. */
const MAX_MESSAGE_SIZE = 64 * 1024 * 1024;

/** One decoded request: the command document and what the reply must echo. */
export interface WireRequest {
  requestId: number;
  opCode: typeof OP_MSG | typeof OP_QUERY;
  /** The command body; OP_MSG document sequences are folded into it under their identifier. */
  body: Document;
  /** Database from `$db` (OP_MSG) or the `<db>.$cmd` namespace (OP_QUERY). */
  db: string;
  /** OP_MSG moreToCome: the client expects no reply (unacknowledged writes). */
  noReply: boolean;
}

export class ProtocolError extends Error {}

/** Accumulates TCP chunks and yields complete messages. */
export class MessageReader {
  private buffer: Buffer = Buffer.alloc(0);

  push(chunk: Uint8Array): WireRequest[] {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : Buffer.from(chunk);
    const out: WireRequest[] = [];
    while (this.buffer.length >= 4) {
      const length = this.buffer.readInt32LE(0);
      if (length < HEADER_SIZE || length > MAX_MESSAGE_SIZE)
        throw new ProtocolError(`invalid message length ${length}`);
      if (this.buffer.length < length) break;
      const message = this.buffer.subarray(0, length);
      this.buffer = this.buffer.subarray(length);
      out.push(decode(message));
    }
    return out;
  }
}

function decode(message: Buffer): WireRequest {
  const requestId = message.readInt32LE(4);
  const opCode = message.readInt32LE(12);
  if (opCode === OP_MSG) return decodeOpMsg(message, requestId);
  if (opCode === OP_QUERY) return decodeOpQuery(message, requestId);
  throw new ProtocolError(`unsupported opCode ${opCode}`);
}

function decodeOpMsg(message: Buffer, requestId: number): WireRequest {
  const flags = message.readUInt32LE(HEADER_SIZE);
  const end = message.length - (flags & CHECKSUM_PRESENT ? 4 : 0);
  let pos = HEADER_SIZE + 4;
  let body: Document | undefined;
  const sequences: [string, Document[]][] = [];
  while (pos < end) {
    const kind = message[pos++];
    if (kind === 0) {
      const size = message.readInt32LE(pos);
      body = deserialize(message.subarray(pos, pos + size));
      pos += size;
    } else if (kind === 1) {
      const size = message.readInt32LE(pos);
      const sectionEnd = pos + size;
      pos += 4;
      const nul = message.indexOf(0, pos);
      const identifier = message.toString("utf8", pos, nul);
      pos = nul + 1;
      const docs: Document[] = [];
      while (pos < sectionEnd) {
        const docSize = message.readInt32LE(pos);
        docs.push(deserialize(message.subarray(pos, pos + docSize)));
        pos += docSize;
      }
      sequences.push([identifier, docs]);
    } else {
      throw new ProtocolError(`unsupported OP_MSG section kind ${String(kind)}`);
    }
  }
  if (!body) throw new ProtocolError("OP_MSG without a body section");
  for (const [identifier, docs] of sequences) {
    const existing: unknown = body[identifier];
    body[identifier] = Array.isArray(existing) ? [...existing, ...docs] : docs;
  }
  const db = typeof body.$db === "string" ? body.$db : "admin";
  return { requestId, opCode: OP_MSG, body, db, noReply: (flags & MORE_TO_COME) !== 0 };
}

function decodeOpQuery(message: Buffer, requestId: number): WireRequest {
  let pos = HEADER_SIZE + 4;
  const nul = message.indexOf(0, pos);
  const namespace = message.toString("utf8", pos, nul);
  pos = nul + 1 + 8; // numberToSkip, numberToReturn
  const size = message.readInt32LE(pos);
  let body = deserialize(message.subarray(pos, pos + size));
  // Legacy drivers wrap commands carrying a read preference as { $query: cmd, … }.
  if (body.$query && typeof body.$query === "object") body = body.$query as Document;
  const dot = namespace.indexOf(".");
  return {
    requestId,
    opCode: OP_QUERY,
    body,
    db: dot > 0 ? namespace.slice(0, dot) : namespace,
    noReply: false,
  };
}

let nextResponseId = 1;

function header(length: number, responseTo: number, opCode: number): Buffer {
  const h = Buffer.alloc(HEADER_SIZE);
  h.writeInt32LE(length, 0);
  h.writeInt32LE(nextResponseId++ & 0x7fffffff, 4);
  h.writeInt32LE(responseTo, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

/**
 * The engine keeps numbers as JS numbers, typed by value: an integer that fits 32 bits is an int,
 * one past that range (what `$inc` makes of an int at 2^31 - 1) is a long, as mongod stores it;
 * the bson library alone would send it as a double. Copies only the parts it changes.
 */
function widenIntegers(value: unknown): unknown {
  if (typeof value === "number")
    return Number.isSafeInteger(value) && (value > 0x7fffffff || value < -0x80000000)
      ? Long.fromNumber(value)
      : value;
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = widenIntegers(value[i]);
      if (v === value[i]) continue;
      out ??= value.slice();
      out[i] = v;
    }
    return out ?? value;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(value)) {
    const w = widenIntegers(v);
    if (w === v) continue;
    out ??= { ...value };
    out[k] = w;
  }
  return out ?? value;
}

/** The reply to a request, in the framing the request used. */
export function encodeReply(request: WireRequest, reply: Document): Buffer {
  const doc = Buffer.from(serialize(widenIntegers(reply) as Document));
  if (request.opCode === OP_QUERY) {
    const prefix = Buffer.alloc(20); // responseFlags, cursorID (8), startingFrom, numberReturned
    prefix.writeInt32LE(1, 16);
    const length = HEADER_SIZE + prefix.length + doc.length;
    return Buffer.concat([header(length, request.requestId, OP_REPLY), prefix, doc]);
  }
  const flagsAndKind = Buffer.alloc(5); // flagBits 0, section kind 0
  const length = HEADER_SIZE + flagsAndKind.length + doc.length;
  return Buffer.concat([header(length, request.requestId, OP_MSG), flagsAndKind, doc]);
}
