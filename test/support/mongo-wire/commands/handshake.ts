import { type Document, Long, ObjectId } from "bson";
import { EngineError, toTimestamp } from "../../../../src/adapters/memory/engine";
import type { CommandContext, CommandHandler } from "./context";

/** What mongod 7.0 reports (wire version 21); the driver needs at least 9 and speaks up to 29. */
const MAX_WIRE_VERSION = 21;
const processId = new ObjectId();

const electionId = new ObjectId();

/**
 * A standalone that is always writable, or with `--replSet` the primary of a one-node replica set
 * (what the driver needs for change streams). No `topologyVersion`: the driver then polls hello on
 * its heartbeat instead of holding an awaitable hello open, which this server does not implement.
 */
const hello: CommandHandler = (body, ctx) => {
  const reply: Document = {
    helloOk: true,
    isWritablePrimary: true,
    maxBsonObjectSize: 16 * 1024 * 1024,
    maxMessageSizeBytes: 48_000_000,
    maxWriteBatchSize: 100_000,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId: ctx.connectionId,
    minWireVersion: 0,
    maxWireVersion: MAX_WIRE_VERSION,
    readOnly: false,
    ok: 1,
  };
  // The legacy command answers `ismaster`, which drivers map to isWritablePrimary.
  if (!("hello" in body)) reply.ismaster = true;
  if (ctx.replSet) Object.assign(reply, replicaSetFields(ctx.replSet, ctx));
  return reply;
};

function replicaSetFields(rs: { name: string; host: string }, ctx: CommandContext): Document {
  const opTime = { ts: toTimestamp(ctx.engine.clock.current), t: Long.fromNumber(1) };
  const now = new Date();
  return {
    hosts: [rs.host],
    setName: rs.name,
    setVersion: 1,
    secondary: false,
    primary: rs.host,
    me: rs.host,
    electionId,
    lastWrite: { opTime, lastWriteDate: now, majorityOpTime: opTime, majorityWriteDate: now },
  };
}

const buildInfo: CommandHandler = () => ({
  version: "7.0.0",
  gitVersion: "cachesync-mongo-wire",
  versionArray: [7, 0, 0, 0],
  bits: 64,
  maxBsonObjectSize: 16 * 1024 * 1024,
  storageEngines: ["memory"],
  ok: 1,
});

const notInTransactions: CommandHandler = () => {
  throw new EngineError(
    20,
    "IllegalOperation",
    "Transaction numbers are only allowed on a replica set member or mongos",
  );
};

export const handshakeCommands: Record<string, CommandHandler> = {
  hello,
  isMaster: hello,
  ismaster: hello,
  ping: () => ({ ok: 1 }),
  buildInfo,
  buildinfo: buildInfo,
  endSessions: () => ({ ok: 1 }),
  hostInfo: () => ({ system: { hostname: "127.0.0.1" }, ok: 1 }),
  getParameter: () => ({ featureCompatibilityVersion: { version: "7.0" }, ok: 1 }),
  serverStatus: () => ({
    host: "127.0.0.1",
    version: "7.0.0",
    process: "mongod",
    pid: process.pid,
    ok: 1,
    id: processId,
  }),
  connectionStatus: () => ({
    authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] },
    ok: 1,
  }),
  abortTransaction: notInTransactions,
  commitTransaction: notInTransactions,
};
