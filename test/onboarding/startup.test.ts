import { expect, test } from "bun:test";
import { resolve } from "node:path";
import { ROOT } from "../docs/readme";

/** `bun start` as an operator runs it, on the embedded stores; its exit code and output. */
async function start(env: Record<string, string>, bunFlags: string[] = []) {
  const clean = { ...(process.env as Record<string, string>) };
  for (const k of ["MONGO_URL", "REDIS_URL", "NODE_ENV", "JWT_SECRET", "LOG_LEVEL", "HOST"])
    delete clean[k];
  const proc = Bun.spawn(["bun", ...bunFlags, "app/server.ts"], {
    cwd: ROOT,
    env: { ...clean, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { code, output: out + err };
}

/** The fatal line, and proof that nothing else (a stack) was printed with it. */
function fatalLine(output: string): string {
  const lines = output.trim().split("\n");
  expect(output).not.toMatch(/^\s+at /m);
  const fatal = lines.map((l) => JSON.parse(l) as { level: number; msg: string; err?: unknown });
  const last = fatal.at(-1);
  expect(last?.level).toBe(60);
  expect(last?.err).toBeUndefined();
  return last?.msg ?? "";
}

test("a busy port: one 'cannot start' line naming the address, exit 1", async () => {
  const holder = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
  try {
    const { code, output } = await start({ PORT: String(holder.port), HOST: "127.0.0.1" });
    expect(code).toBe(1);
    expect(fatalLine(output)).toBe(
      `cannot start: listening on 127.0.0.1:${holder.port} is already in use (set PORT to a free port, or 0 for any)`,
    );
  } finally {
    holder.stop(true);
  }
}, 30_000);

test("a HOST that is no address of this machine: one line, exit 1", async () => {
  // TEST-NET-1 (RFC 5737): valid syntax, never assigned to a local interface.
  const { code, output } = await start({ PORT: "0", HOST: "192.0.2.1" });
  expect(code).toBe(1);
  expect(fatalLine(output)).toContain("cannot start: listening on 192.0.2.1:0");
}, 30_000);

test("a plugin listed before its dependency: one 'cannot start' line, no stack, exit 1", async () => {
  const preload = resolve(import.meta.dir, "fixtures/reversed-plugins.preload.ts");
  const { code, output } = await start({ PORT: "0" }, ["--preload", preload]);
  expect(code).toBe(1);
  expect(fatalLine(output)).toMatch(
    /^cannot start: Plugin "[a-z-]+" depends on "[a-z-]+", which must be loaded before it \(CS_ERR_PLUGIN_DEPENDENCY\)$/,
  );
}, 30_000);

test.each([
  ["NODE_ENV", "production"],
  ["MONGO_URL", "mongodb://127.0.0.1:1"],
])(
  "bun run demo refuses with %s set (its admin password is public)",
  async (k, v) => {
    const proc = Bun.spawn(["bun", "run", "app/demo.ts"], {
      cwd: ROOT,
      env: { ...process.env, [k]: v, PORT: "0" },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(await proc.exited).toBe(1);
    expect(await new Response(proc.stderr).text()).toContain("bun run demo: refused");
  },
  30_000,
);
