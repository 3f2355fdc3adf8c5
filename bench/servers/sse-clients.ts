/**
 * SSE load clients, in their own process: raw TCP sockets (Bun.connect) speaking just enough
 * HTTP/1.1 to hold `GET /api/v1/events` open, because 10k EventSource objects would cost more
 * than the server under test. Commands on stdin, one JSON object a line:
 *   {"cmd":"connect","tokens":[...]}     opens one stream per token; answers {"connected":n,"failed":f}
 *   {"cmd":"collect","round":r,"expect":n,"timeoutMs":t}
 *                                        answers {"round":r,"lat":[ms…],"lost":l,"dup":d} once n
 *                                        streams got round r, or at the timeout (lost = n − got)
 *   {"cmd":"exit"}
 * Latency = receive time − `benchSentAt` in the event (both absolute ms: timeOrigin + now()).
 *
 * It shares the 2 cores with the server it measures, so each received chunk costs as little as
 * it can: no text decoding and no SSE parser per stream, only a native byte search for the
 * bench's marker and the two numbers after it, and one set of socket handlers for every socket.
 * Every stream must get every round exactly once: `lost` and `dup` count the exceptions.
 */
import type { Socket, SocketHandler } from "bun";

const [host, portStr] = (process.env.SSE_TARGET as string).split(":");
const port = Number(portStr);
const now = () => performance.timeOrigin + performance.now();

interface Conn {
  /** The HTTP request, written once the socket is open. */
  request: string;
  open: boolean;
  /** The newest round this stream received. */
  round: number;
  /** The start of a frame cut by a chunk boundary, kept until the rest arrives. */
  tail: Buffer | null;
}

interface Round {
  lat: number[];
  dup: number;
}

const rounds = new Map<number, Round>();
let live = 0;
let failed = 0;
/** What `connect` or `collect` waits for; checked where the counts change, not per chunk. */
let waiting: { done: () => boolean; resolve: () => void } | undefined;
const check = () => {
  if (waiting?.done()) {
    const w = waiting;
    waiting = undefined;
    w.resolve();
  }
};
const until = (done: () => boolean, timeoutMs: number) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      waiting = undefined;
      resolve();
    }, timeoutMs);
    waiting = {
      done,
      resolve: () => {
        clearTimeout(timer);
        resolve();
      },
    };
    check();
  });

const MARK = Buffer.from('"benchSentAt":');
const CONNECTED = Buffer.from(": connected");
const BLANK_LINE = Buffer.from("\n\n");
const ROUND_KEY = ',"benchRound":'.length;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LF = 0x0a;
const CR = 0x0d;

function record(conn: Conn, round: number, lat: number) {
  let r = rounds.get(round);
  if (!r) {
    r = { lat: [], dup: 0 };
    rounds.set(round, r);
  }
  if (conn.round === round) r.dup++;
  else {
    conn.round = round;
    r.lat.push(lat);
    check();
  }
}

/** Scans a chunk for bench events (`"benchSentAt":<ms>,"benchRound":<n>`); keeps a cut frame. */
function scan(conn: Conn, t: number, b: Buffer) {
  let i = 0;
  for (;;) {
    const m = b.indexOf(MARK, i);
    if (m < 0) break;
    let j = m + MARK.length;
    let sent = 0;
    let c = b[j];
    while (c !== undefined && c >= ZERO && c <= NINE) {
      sent = sent * 10 + (c - ZERO);
      c = b[++j];
    }
    if (c === DOT) {
      let scale = 0.1;
      c = b[++j];
      while (c !== undefined && c >= ZERO && c <= NINE) {
        sent += (c - ZERO) * scale;
        scale /= 10;
        c = b[++j];
      }
    }
    j += ROUND_KEY;
    let round = 0;
    c = b[j];
    while (c !== undefined && c >= ZERO && c <= NINE) {
      round = round * 10 + (c - ZERO);
      c = b[++j];
    }
    if (c === undefined) {
      conn.tail = Buffer.from(b.subarray(m));
      return;
    }
    record(conn, round, t - sent);
    i = j;
  }
  // Bun writes each frame as one HTTP chunk, ending in "\n\n" (and chunked encoding's CRLF): a
  // chunk that ends otherwise was cut by the socket and may hold the start of a marker.
  const n = b.length;
  if (n >= 2 && b[n - 1] === LF && (b[n - 2] === LF || (b[n - 2] === CR && b[n - 3] === LF)))
    return;
  const from = Math.max(i, b.lastIndexOf(BLANK_LINE) + 2);
  if (n - from < 64 * 1024) conn.tail = Buffer.from(b.subarray(from));
}

const handlers: SocketHandler<Conn> = {
  open(s: Socket<Conn>) {
    s.write(s.data.request);
  },
  data(s: Socket<Conn>, chunk: Buffer) {
    const t = now();
    const conn = s.data;
    let b = chunk;
    if (conn.tail) {
      b = Buffer.concat([conn.tail, chunk]);
      conn.tail = null;
    }
    if (!conn.open) {
      if (b.indexOf(CONNECTED) < 0) {
        conn.tail = Buffer.from(b.subarray(Math.max(0, b.length - CONNECTED.length)));
        return;
      }
      conn.open = true;
      live++;
      check();
    }
    scan(conn, t, b);
  },
  close(s: Socket<Conn>) {
    if (s.data.open) live--;
    s.data.open = false;
  },
  error() {
    failed++;
    check();
  },
};

async function openOne(token: string): Promise<void> {
  const data: Conn = {
    request: `GET /api/v1/events HTTP/1.1\r\nHost: ${host}:${port}\r\nAuthorization: Bearer ${token}\r\nAccept: text/event-stream\r\n\r\n`,
    open: false,
    round: 0,
    tail: null,
  };
  try {
    await Bun.connect<Conn>({ hostname: host as string, port, data, socket: handlers });
  } catch {
    failed++;
  }
}

async function connectAll(tokens: string[]) {
  const target = live + failed + tokens.length;
  const BATCH = 250;
  for (let i = 0; i < tokens.length; i += BATCH) {
    const batch = tokens.slice(i, i + BATCH);
    const reached = target - tokens.length + i + batch.length;
    await Promise.all(batch.map(openOne));
    // Let the server answer this batch before the next.
    await until(() => live + failed >= reached, 5000);
  }
  await until(() => live + failed >= target, 10_000);
  return { connected: live, failed };
}

async function collect(round: number, expect: number, timeoutMs: number) {
  await until(() => (rounds.get(round)?.lat.length ?? 0) >= expect, timeoutMs);
  const r = rounds.get(round) ?? { lat: [], dup: 0 };
  rounds.delete(round);
  return { round, lat: r.lat, lost: Math.max(0, expect - r.lat.length), dup: r.dup };
}

const reply = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
let pending = "";
const decoder = new TextDecoder();
for await (const chunk of Bun.stdin.stream()) {
  pending += decoder.decode(chunk, { stream: true });
  let nl = pending.indexOf("\n");
  while (nl >= 0) {
    const line = pending.slice(0, nl);
    pending = pending.slice(nl + 1);
    nl = pending.indexOf("\n");
    if (!line.trim()) continue;
    const msg = JSON.parse(line) as {
      cmd: string;
      tokens?: string[];
      round?: number;
      expect?: number;
      timeoutMs?: number;
    };
    if (msg.cmd === "connect") reply(await connectAll(msg.tokens ?? []));
    else if (msg.cmd === "collect")
      reply(await collect(msg.round ?? 0, msg.expect ?? 0, msg.timeoutMs ?? 10_000));
    else if (msg.cmd === "exit") process.exit(0);
  }
}
