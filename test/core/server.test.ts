import { expect, test } from "bun:test";

/** Reads the child's JSON log lines until one matches, or fails after `ms`. */
async function waitForLog(
  lines: string[],
  match: (l: Record<string, unknown>) => boolean,
  ms: number,
) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    for (const l of lines) {
      try {
        const o = JSON.parse(l) as Record<string, unknown>;
        if (match(o)) return o;
      } catch {
        // not a log line
      }
    }
    await Bun.sleep(50);
  }
  throw new Error(`no matching log line within ${ms} ms:\n${lines.join("\n")}`);
}

test("bun start with no env: /health within 10 s on the embedded stores, SIGTERM exits cleanly", async () => {
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PORT: "0",
    // The drain delay has its own test (server-hardening): here, exit as soon as possible.
    SHUTDOWN_DELAY_MS: "0",
  };
  for (const k of ["MONGO_URL", "REDIS_URL", "NODE_ENV", "JWT_SECRET", "LOG_LEVEL"]) delete env[k];
  const started = Date.now();
  const proc = Bun.spawn(["bun", "run", "app/server.ts"], { env, stdout: "pipe", stderr: "pipe" });
  const lines: string[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of proc.stdout) {
      buf += decoder.decode(chunk);
      const parts = buf.split("\n");
      buf = parts.pop() ?? "";
      lines.push(...parts);
    }
  })();
  try {
    const embedded = await waitForLog(
      lines,
      (l) => String(l.msg).includes("embedded in-process store"),
      10_000,
    );
    expect(embedded.db).toBe("memory");
    const listening = await waitForLog(lines, (l) => l.msg === "cachesync listening", 10_000);
    const url = String(listening.url).replace("0.0.0.0", "127.0.0.1");
    const res = await fetch(new URL("/health", url));
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(10_000);
  } finally {
    proc.kill("SIGTERM");
  }
  expect(await proc.exited).toBe(0);
  await waitForLog(lines, (l) => String(l.msg).startsWith("shutting down"), 2000);
}, 20_000);

test("MongoDB unreachable at start-up: exit 1 with a clear fatal line, no hang", async () => {
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PORT: "0",
    MONGO_URL: "mongodb://127.0.0.1:1",
    MONGO_TIMEOUT_MS: "300",
  };
  delete env.REDIS_URL;
  const started = Date.now();
  const proc = Bun.spawn(["bun", "run", "app/server.ts"], { env, stdout: "pipe", stderr: "pipe" });
  expect(await proc.exited).toBe(1);
  expect(Date.now() - started).toBeLessThan(10_000);
  const out = await new Response(proc.stdout).text();
  expect(out).toContain("cannot start: Database unavailable (mongo)");
}, 20_000);
