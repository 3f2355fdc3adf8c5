/**
 * SSE load clients, in their own process: raw TCP sockets (Bun.connect) speaking just enough
 * HTTP/1.1 to hold `GET /api/v1/events` open, because 10k EventSource objects would cost more
 * than the server under test. Commands on stdin, one JSON object a line:
 *   {"cmd":"connect","tokens":[...]}     opens one stream per token; answers {"connected":n,"failed":f}
 *   {"cmd":"collect","round":r,"expect":n,"timeoutMs":t}
 *                                        answers {"round":r,"lat":[ms…]} once n streams got round r
 *   {"cmd":"exit"}
 * Latency = receive time − `benchSentAt` in the event (both absolute ms: timeOrigin + now()).
 */
const [host, portStr] = (process.env.SSE_TARGET as string).split(":");
const port = Number(portStr);
const now = () => performance.timeOrigin + performance.now();

interface Conn {
  buf: string;
  open: boolean;
}
const rounds = new Map<number, number[]>();
let live = 0;
let failed = 0;
const waiters: (() => void)[] = [];
const wake = () => {
  for (const w of waiters.splice(0)) w();
};

const MARK = '"benchSentAt":';
function onText(conn: Conn, text: string) {
  const t = now();
  conn.buf += text;
  if (!conn.open && conn.buf.includes(": connected")) {
    conn.open = true;
    live++;
    wake();
  }
  for (;;) {
    const i = conn.buf.indexOf(MARK);
    if (i < 0) break;
    const rest = conn.buf.slice(i + MARK.length);
    const m = /^([\d.]+),"benchRound":(\d+)/.exec(rest);
    if (!m) {
      conn.buf = conn.buf.slice(i); // incomplete: wait for more bytes
      return;
    }
    const list = rounds.get(Number(m[2])) ?? [];
    list.push(t - Number(m[1]));
    rounds.set(Number(m[2]), list);
    conn.buf = rest.slice(m[0].length);
    wake();
  }
  if (conn.buf.length > 256) conn.buf = conn.buf.slice(-128);
}

async function openOne(token: string): Promise<void> {
  const conn: Conn = { buf: "", open: false };
  const dec = new TextDecoder();
  try {
    await Bun.connect({
      hostname: host as string,
      port,
      socket: {
        open(s) {
          s.write(
            `GET /api/v1/events HTTP/1.1\r\nHost: ${host}:${port}\r\nAuthorization: Bearer ${token}\r\nAccept: text/event-stream\r\n\r\n`,
          );
        },
        data(_s, d) {
          onText(conn, dec.decode(d, { stream: true }));
        },
        close() {
          if (conn.open) live--;
          conn.open = false;
        },
        error() {
          failed++;
        },
      },
    });
  } catch {
    failed++;
  }
}

async function connectAll(tokens: string[]) {
  const target = live + tokens.length;
  const BATCH = 250;
  for (let i = 0; i < tokens.length; i += BATCH) {
    await Promise.all(tokens.slice(i, i + BATCH).map(openOne));
    // Let the server answer this batch before the next.
    const until = Date.now() + 5000;
    while (
      live + failed < target - (tokens.length - Math.min(tokens.length, i + BATCH)) &&
      Date.now() < until
    ) {
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }
  const until = Date.now() + 10_000;
  while (live + failed < target && Date.now() < until) await Bun.sleep(20);
  return { connected: live, failed };
}

async function collect(round: number, expect: number, timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  while ((rounds.get(round)?.length ?? 0) < expect && Date.now() < until) {
    await new Promise<void>((r) => {
      waiters.push(r);
      setTimeout(r, 50);
    });
  }
  return { round, lat: rounds.get(round) ?? [] };
}

const reply = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
let pending = "";
for await (const chunk of Bun.stdin.stream()) {
  pending += new TextDecoder().decode(chunk);
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

export {};
