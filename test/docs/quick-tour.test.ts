import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { freePort } from "../support";
import { fencedBlocks, ROOT, readme } from "./readme";

/**
 * Runs the README's quick tour as written: the `sh quick-tour server` block starts the server,
 * the `sh quick-tour` block is pasted into bash. Only the port differs (a free one instead of
 * 3000), so parallel runs on one machine cannot collide.
 */
let server: Subprocess<"ignore", "pipe", "pipe">;
let port: number;
let serverOut = "";

/** Runs `script` in its own process group, so background jobs it leaves behind die with it. */
function spawnGroup(script: string, env: Record<string, string>) {
  return Bun.spawn(["setsid", "bash", "-c", script], {
    cwd: ROOT,
    env,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
}

const killGroup = (p: Subprocess) => {
  try {
    process.kill(-p.pid, "SIGTERM");
  } catch {
    // already gone
  }
};

function cleanEnv(): Record<string, string> {
  const env = { ...(process.env as Record<string, string>) };
  // A newcomer's shell: none of the suite's or the reader's own settings.
  for (const k of Object.keys(env)) {
    if (/^(MONGO_|REDIS_|ADMIN_|JWT_|NODE_ENV$|LOG_LEVEL$|PORT$|HOST$)/.test(k)) delete env[k];
  }
  return env;
}

beforeAll(async () => {
  const text = await readme();
  const [serverBlock] = fencedBlocks(text, "sh quick-tour server");
  if (!serverBlock) throw new Error("README has no ```sh quick-tour server block");
  port = await freePort();
  server = spawnGroup(serverBlock, { ...cleanEnv(), PORT: String(port) });
  void (async () => {
    for await (const chunk of server.stdout) serverOut += new TextDecoder().decode(chunk);
  })();
  const deadline = Date.now() + 20_000;
  for (;;) {
    const up = await fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline || server.exitCode !== null)
      throw new Error(`the quick tour's server did not come up:\n${serverOut}`);
    await Bun.sleep(100);
  }
}, 30_000);

afterAll(async () => {
  killGroup(server);
  await server.exited;
});

test("the README's quick tour, run as written: the deposit is approved and the live event arrives", async () => {
  const blocks = fencedBlocks(await readme(), "sh quick-tour");
  expect(blocks.length).toBe(1);
  const script = (blocks[0] as string).replaceAll("localhost:3000", `localhost:${port}`);
  const tour = spawnGroup(`set -euo pipefail\n${script}`, cleanEnv());
  const timer = setTimeout(() => killGroup(tour), 30_000);
  const [out, err, code] = await Promise.all([
    new Response(tour.stdout).text(),
    new Response(tour.stderr).text(),
    tour.exited,
  ]);
  clearTimeout(timer);
  killGroup(tour);
  expect({ code, err }).toEqual({ code: 0, err: "" });
  const lines = out.split("\n");
  expect(lines).toContain("approved");
  expect(lines).toContain('{"balance":5000,"currency":"USD"}');
  // The stream printed the approval as it happened: the event, its reason and the new balance.
  expect(lines).toContain("event: userDataUpdated");
  const data = lines.find((l) => l.startsWith("data: ") && l.includes("deposit approval #"));
  expect(data).toBeDefined();
  const event = JSON.parse((data as string).slice("data: ".length)) as {
    user: { email: string; wallet: { balance: number } };
  };
  expect(event.user.email).toBe("ana@example.com");
  expect(event.user.wallet.balance).toBe(5000);
  // The demo printed the credentials the tour used.
  expect(serverOut).toContain("admin@example.com / demo-admin-password");
}, 60_000);
