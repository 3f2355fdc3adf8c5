import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort } from "./free-port";

const ROOT = join(import.meta.dir, "..", "..");

/** The variables a developer's shell may carry that would change what `bun start` does. */
const SCRUB = ["MONGO_URL", "REDIS_URL", "NODE_ENV", "JWT_SECRET", "LOG_LEVEL", "PORT", "HOST"];

export interface ServerProcess {
  readonly url: string;
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Everything the child printed so far (stdout and stderr). */
  output(): string;
  /** SIGKILL if still running; resolves once it exited. */
  kill(): Promise<void>;
}

/**
 * `bun run app/server.ts` as a child process, as an operator starts it: its own environment
 * (`env` over a scrubbed copy of ours), on 127.0.0.1 and a free port. Resolves once `/health`
 * answers; rejects with the child's output if it exits first or does not answer in time.
 */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !SCRUB.includes(k)) base[k] = v;
  const proc = Bun.spawn(["bun", "run", "app/server.ts"], {
    cwd: ROOT,
    env: { ...base, LOG_LEVEL: "warn", ...env, PORT: String(port), HOST: "127.0.0.1" },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let out = "";
  const drain = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of s) out += dec.decode(chunk);
  };
  void drain(proc.stdout);
  void drain(proc.stderr);
  const server: ServerProcess = {
    url: `http://127.0.0.1:${port}`,
    proc,
    output: () => out,
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await proc.exited;
    },
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited (${proc.exitCode}):\n${out}`);
    try {
      if ((await fetch(`${server.url}/health`)).ok) return server;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await server.kill();
      throw new Error(`server did not answer /health within 15 s:\n${out}`);
    }
    await Bun.sleep(50);
  }
}

/** What a raw TCP exchange saw: the bytes received and whether the server closed the socket. */
export interface RawExchange {
  received: string;
  closed: boolean;
}

/**
 * Writes `request` on a fresh TCP connection (nothing more: a client that stops mid-request) and
 * watches for up to `ms`, or until `until(received)` holds: what came back, and whether the
 * server closed the connection.
 */
export async function rawExchange(
  url: string,
  request: string,
  ms: number,
  until: (received: string) => boolean = () => false,
): Promise<RawExchange> {
  const { hostname, port } = new URL(url);
  const seen: RawExchange = { received: "", closed: false };
  const dec = new TextDecoder();
  const socket = await Bun.connect({
    hostname,
    port: Number(port),
    socket: {
      data(_s, chunk) {
        seen.received += dec.decode(chunk);
      },
      close() {
        seen.closed = true;
      },
      error() {
        seen.closed = true;
      },
    },
  });
  socket.write(request);
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && !seen.closed && !until(seen.received)) await Bun.sleep(25);
  const result = { ...seen };
  socket.end();
  return result;
}
