import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort } from "../../test/support/free-port";
import type { BenchEnv } from "./env";

const ROOT = join(import.meta.dir, "..", "..");

export { freePort };

export interface ChildServer {
  url: string;
  pid: number;
  proc: Subprocess;
  /** Last lines the child printed, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Spawns `bun run <script>` in its own process (its own event loop, not the load generator's),
 * with the open-file limit raised to the hard limit, and waits until `GET <readyPath>` answers.
 */
export async function spawnServer(
  script: string,
  env: Record<string, string>,
  readyPath = "/health",
  root = ROOT,
  preload: readonly string[] = [],
): Promise<ChildServer> {
  const port = await freePort();
  const proc = Bun.spawn(
    [
      "bash",
      "-c",
      'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec bun "$@"',
      "bun",
      "run",
      ...preload.flatMap((p) => ["--preload", p]),
      join(root, script),
    ],
    {
      cwd: root,
      env: { ...process.env, ...env, PORT: String(port), HOST: "127.0.0.1" },
      stdout: "pipe",
      stderr: "pipe",
      stdin: "ignore",
    },
  );
  let out = "";
  const drain = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of s) out = (out + dec.decode(chunk)).slice(-8000);
  };
  void drain(proc.stdout);
  void drain(proc.stderr);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null)
      throw new Error(`${script} exited (${proc.exitCode}): ${out.slice(-2000)}`);
    try {
      const res = await fetch(url + readyPath);
      if (res.status < 500) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`${script} did not answer ${readyPath} within 20 s: ${out.slice(-2000)}`);
    }
    await Bun.sleep(50);
  }
  return {
    url,
    pid: proc.pid,
    proc,
    output: () => out,
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 3000);
      await proc.exited;
      clearTimeout(timer);
    },
  };
}

/** The environment that points a server process at the bench's redis-server and MongoDB test server. */
export function appEnv(env: BenchEnv): Record<string, string> {
  const { stack } = env;
  return {
    NODE_ENV: "production",
    LOG_LEVEL: "warn",
    MONGO_URL: env.mongo.url,
    MONGO_DB: stack.dbName,
    ...env.redis.env,
    CACHE_PREFIX: stack.config.CACHE_PREFIX,
    JWT_SECRET: stack.config.JWT_SECRET ?? "bench-secret-bench-secret-0123456789",
    CONSISTENCY_CHECK_INTERVAL_SECONDS: "0",
  };
}

/**
 * The real server entry (app/server.ts; src/server.ts in checkouts from before the tree by
 * purpose) on the bench's redis-server and MongoDB test server; `root`: another checkout's (a
 * baseline, lib/baseline.ts). `preload`: bench-only modules loaded first (servers/gc-signal.ts).
 */
export function spawnApp(
  env: BenchEnv,
  extra: Record<string, string> = {},
  root = ROOT,
  preload: readonly string[] = [],
): Promise<ChildServer> {
  const entry = existsSync(join(root, "app/server.ts")) ? "app/server.ts" : "src/server.ts";
  return spawnServer(
    entry,
    { ...appEnv(env), METRICS_ENABLED: "true", ...extra },
    "/health",
    root,
    preload,
  );
}
