import net from "node:net";
import type { Document } from "bson";
import { Engine, EngineError, toTimestamp } from "../../../src/adapters/memory/engine";
import { ChangeStreamCursors } from "./change-streams";
import { canonicalName, commands } from "./commands";
import { CursorRegistry } from "./cursors";
import { FailPoints } from "./fail-points";
import { encodeReply, MessageReader, type WireRequest } from "./framing";
import { SessionCache } from "./sessions";

export interface StartMongoWireOptions {
  /** 0 or absent: an ephemeral port (kept across stop/restart). */
  port?: number;
  /** Delay before each request is processed, like a slow network or a busy server. */
  latencyMs?: number;
  /**
   * A replica set name (`--replSet rs0`): hello answers as the primary of a one-node set and
   * change streams work; without it the server is a standalone that refuses `$changeStream`.
   */
  replSet?: string;
  /** With `replSet`: change events kept per database before the oldest fall off (the oplog's size). */
  changeHistory?: number;
}

export interface MongoWireStats {
  /** Per-command counters, by command name (`find`, `insert`, `findAndModify`, `hello` …). */
  commands: Record<string, number>;
  /** Every request received (including handshakes and heartbeats). */
  requests: number;
  /** TCP connections accepted. */
  connections: number;
  /**
   * Write commands by the write concern they carried: `"<db>.<collection> <command> w:<w>"`
   * (`w:default` without one), so a test can see what a client asked for.
   */
  writeConcerns: Record<string, number>;
}

const WRITES = new Set(["insert", "update", "delete", "findAndModify"]);

interface Connection {
  id: number;
  socket: net.Socket;
  reader: MessageReader;
  /** Requests on one connection are answered in order, as the driver expects. */
  chain: Promise<void>;
  closed: boolean;
}

const HOST = "127.0.0.1";

/**
 * A MongoDB server for tests: the wire protocol (OP_MSG, legacy OP_QUERY handshake) over the
 * embedded engine, so the official driver runs end to end, and a test can stop, restart, pause
 * or slow it down.
 */
export class MongoWireServer {
  /** The data, for direct assertions; survives stop/restart. */
  readonly engine: Engine;
  readonly stats: MongoWireStats = {
    commands: {},
    requests: 0,
    connections: 0,
    writeConcerns: {},
  };
  readonly replSet: string | undefined;
  private readonly cursors = new CursorRegistry();
  /** `configureFailPoint: "failCommand"`, as on a mongod started with test commands. */
  readonly failPoints = new FailPoints();
  private readonly sessions = new SessionCache();
  private readonly streams = new ChangeStreamCursors();
  private readonly connections = new Set<Connection>();
  private listener: net.Server | null = null;
  private latencyMs: number;
  private pauseGate: { promise: Promise<void>; release: () => void } | null = null;
  private nextConnectionId = 1;
  private finished = false;
  private boundPort: number;

  constructor(opts: StartMongoWireOptions = {}) {
    // Only a replica set keeps an oplog; a standalone records no history at all.
    this.engine = new Engine({ changeHistory: opts.replSet ? opts.changeHistory : 0 });
    this.replSet = opts.replSet;
    this.boundPort = opts.port ?? 0;
    this.latencyMs = opts.latencyMs ?? 0;
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `mongodb://${HOST}:${this.boundPort}/?directConnection=true`;
  }

  get listening(): boolean {
    return this.listener !== null;
  }

  get paused(): boolean {
    return this.pauseGate !== null;
  }

  async listen(): Promise<void> {
    if (this.finished) throw new Error("mongo-wire server was closed");
    if (this.listener) return;
    const listener = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      listener.once("error", reject);
      listener.listen(this.boundPort, HOST, () => {
        listener.off("error", reject);
        resolve();
      });
    });
    const address = listener.address();
    if (address && typeof address === "object") this.boundPort = address.port;
    this.listener = listener;
  }

  /** Closes the listener and drops every connection: clients see resets and refusals at once. */
  async stop(): Promise<void> {
    const listener = this.listener;
    this.listener = null;
    for (const conn of this.connections) {
      conn.closed = true;
      conn.socket.destroy();
    }
    this.connections.clear();
    this.streams.clear();
    if (listener) await new Promise<void>((resolve) => listener.close(() => resolve()));
  }

  /** Listens again on the same port, data kept, like a restarted mongod (not paused any more). */
  async restart(): Promise<void> {
    await this.stop();
    this.resume();
    await this.listen();
  }

  /** Holds every request (and so every response) until `resume`, like a SIGSTOPped server. */
  pause(): void {
    if (this.pauseGate) return;
    let release = () => {};
    const promise = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.pauseGate = { promise, release };
  }

  /** Requests held by `pause` run now, except those whose connection the client closed meanwhile. */
  resume(): void {
    const gate = this.pauseGate;
    this.pauseGate = null;
    gate?.release();
  }

  setLatency(ms: number): void {
    this.latencyMs = Math.max(0, ms);
  }

  resetStats(): void {
    this.stats.commands = {};
    this.stats.writeConcerns = {};
    this.stats.requests = 0;
    this.stats.connections = 0;
  }

  /** Final stop. */
  async close(): Promise<void> {
    this.finished = true;
    this.resume();
    await this.stop();
  }

  private accept(socket: net.Socket): void {
    if (!this.listener) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const conn: Connection = {
      id: this.nextConnectionId++,
      socket,
      reader: new MessageReader(),
      chain: Promise.resolve(),
      closed: false,
    };
    this.connections.add(conn);
    this.stats.connections++;
    const drop = () => {
      conn.closed = true;
      this.connections.delete(conn);
    };
    socket.on("close", drop);
    socket.on("error", drop);
    socket.on("data", (chunk: Buffer) => {
      let requests: WireRequest[];
      try {
        requests = conn.reader.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const req of requests) {
        conn.chain = conn.chain
          .then(() => this.handle(conn, req))
          .catch(() => {
            socket.destroy();
          });
      }
    });
  }

  private async handle(conn: Connection, req: WireRequest): Promise<void> {
    await this.whileNotPaused();
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    await this.whileNotPaused();
    if (conn.closed || conn.socket.destroyed) return;
    const failure = this.failPoints.take(Object.keys(req.body)[0] ?? "");
    if (failure?.closeConnection) {
      conn.socket.destroy();
      return;
    }
    const reply = failure?.reply ?? (await this.execute(req, conn.id));
    if (failure?.writeConcernError && reply.ok === 1)
      reply.writeConcernError = failure.writeConcernError;
    if (req.noReply || conn.closed) return;
    conn.socket.write(encodeReply(req, reply));
  }

  private async whileNotPaused(): Promise<void> {
    if (!this.pauseGate) return;
    while (this.pauseGate) await this.pauseGate.promise;
    // Let close events of connections the client gave up on during the pause arrive first,
    // so their held requests are dropped rather than run late.
    await new Promise((resolve) => setTimeout(resolve, 10));
  }

  private async execute(req: WireRequest, connectionId: number): Promise<Document> {
    this.stats.requests++;
    const name = Object.keys(req.body)[0] ?? "";
    const counter = canonicalName(name);
    this.stats.commands[counter] = (this.stats.commands[counter] ?? 0) + 1;
    if (WRITES.has(counter)) {
      const w = (req.body.writeConcern as Document | undefined)?.w ?? "default";
      const key = `${req.db}.${String(req.body[name])} ${counter} w:${String(w)}`;
      this.stats.writeConcerns[key] = (this.stats.writeConcerns[key] ?? 0) + 1;
    }
    const handler =
      name === "configureFailPoint"
        ? (body: Document) => this.failPoints.configure(body)
        : commands.get(name);
    if (!handler) {
      return { ok: 0, errmsg: `no such command: '${name}'`, code: 59, codeName: "CommandNotFound" };
    }
    try {
      // A replica set takes retryable writes (a txnNumber alone); transactions stay refused.
      if (this.replSet && (req.body.startTransaction === true || req.body.autocommit === false)) {
        throw new EngineError(20, "IllegalOperation", "The test server does not run transactions");
      }
      if (
        !this.replSet &&
        (req.body.startTransaction === true ||
          (req.body.txnNumber !== undefined && !name.endsWith("Transaction")))
      ) {
        throw new EngineError(
          20,
          "IllegalOperation",
          "Transaction numbers are only allowed on a replica set member or mongos",
        );
      }
      this.sessions.touch(req.body.lsid);
      const reply = await handler(req.body, {
        engine: this.engine,
        cursors: this.cursors,
        streams: this.streams,
        db: req.db,
        connectionId,
        sessions: () => this.sessions.list(),
        replSet: this.replSet
          ? { name: this.replSet, host: `${HOST}:${this.boundPort}` }
          : undefined,
      });
      // Replica-set members stamp replies with the cluster time (drivers resume streams from it).
      if (this.replSet) reply.operationTime = toTimestamp(this.engine.clock.current);
      return reply;
    } catch (err) {
      if (err instanceof EngineError) return err.toReply();
      return {
        ok: 0,
        errmsg: err instanceof Error ? err.message : String(err),
        code: 1,
        codeName: "InternalError",
      };
    }
  }
}

/** Starts a wire-protocol test server on 127.0.0.1 (an ephemeral port unless `port` is given). */
export async function startMongoWire(opts: StartMongoWireOptions = {}): Promise<MongoWireServer> {
  const server = new MongoWireServer(opts);
  await server.listen();
  return server;
}
