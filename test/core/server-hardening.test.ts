import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rawExchange, type ServerProcess, startServerProcess } from "../support/server-process";

/**
 * SPEC §8 at the edge, through the real entry (`bun run app/server.ts`), as a client on a socket
 * sees it: bodies over the cap refused before they are read, idle and stalled connections
 * closed while SSE streams live on their heartbeats, and a SIGTERM that drains before closing.
 * Each guarantee is also probed with the protection off, to show the probe would catch it.
 */

const MiB = 1024 * 1024;
/** A request that announces a 50 MiB body and sends 1 KiB of it. */
const hugeLogin = [
  "POST /api/v1/auth/login HTTP/1.1",
  "Host: localhost",
  "Content-Type: application/json",
  `Content-Length: ${50 * MiB}`,
  "",
  `{"email":"a@b.co","password":"${"x".repeat(1024)}`,
].join("\r\n");
const answered = (r: string) => r.includes("\r\n\r\n") && r.includes("}");

let server: ServerProcess;
let uncapped: ServerProcess;
beforeAll(async () => {
  [server, uncapped] = await Promise.all([
    startServerProcess({ IDLE_TIMEOUT_SECONDS: "1", SSE_HEARTBEAT_MS: "300" }),
    // The same server with the protections at their loosest.
    startServerProcess({ MAX_BODY_BYTES: String(64 * MiB), IDLE_TIMEOUT_SECONDS: "255" }),
  ]);
}, 30_000);
afterAll(async () => {
  await Promise.all([server?.kill(), uncapped?.kill()]);
});

describe("bounded requests", () => {
  test("a Content-Length over MAX_BODY_BYTES is answered 413 with the envelope before the body is sent", async () => {
    const [capped, open] = await Promise.all([
      rawExchange(server.url, hugeLogin, 5000, answered),
      rawExchange(uncapped.url, hugeLogin, 1500, answered),
    ]);
    expect(capped.received).toStartWith("HTTP/1.1 413");
    const body = JSON.parse(capped.received.slice(capped.received.indexOf("\r\n\r\n") + 4));
    expect(body).toMatchObject({ success: false, error: { code: "PAYLOAD_TOO_LARGE" } });
    // Control: without the cap the server waits for the other 50 MiB.
    expect(open.received).toBe("");
  }, 20_000);

  test("a chunked body is cut off as soon as it crosses the cap", async () => {
    const chunk = new Uint8Array(64 * 1024).fill(32);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 8 * MiB) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const res = await fetch(`${server.url}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      "PAYLOAD_TOO_LARGE",
    );
  }, 20_000);

  test("a stalled request is closed after IDLE_TIMEOUT_SECONDS; an SSE stream lives on its heartbeats", async () => {
    const reg = await fetch(`${server.url}/api/v1/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        email: "idle@example.test",
        username: "idle_user",
        password: "password-123",
      }),
    });
    const { data } = (await reg.json()) as { data: { token: string } };
    const stream = await fetch(`${server.url}/api/v1/events`, {
      headers: { authorization: `Bearer ${data.token}` },
    });
    expect(stream.status).toBe(200);
    const reader = stream.body?.getReader();
    let streamEnded = false;
    let bytes = 0;
    const pump = (async () => {
      for (;;) {
        const r = await reader?.read().catch(() => ({ done: true, value: undefined }));
        if (!r || r.done) break;
        bytes += r.value?.length ?? 0;
      }
      streamEnded = true;
    })();
    // Headers complete, 10 of 100 body bytes sent, then nothing: a stalled client.
    const stalledBody =
      'POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"email":';
    // Bun checks idle timers every few seconds: 1 s idle closes within ~4-8 s.
    let closedAt = Number.POSITIVE_INFINITY;
    const [stalled, control] = await Promise.all([
      rawExchange(server.url, stalledBody, 12_000).finally(() => {
        closedAt = Date.now();
      }),
      // Control: watched until a second after the capped one was closed.
      rawExchange(uncapped.url, stalledBody, 13_000, () => Date.now() > closedAt + 1000),
    ]);
    expect(stalled.closed).toBe(true);
    expect(control.closed).toBe(false);
    // Seconds of heartbeats every 300 ms, against a 1 s server-wide idle timeout.
    expect(streamEnded).toBe(false);
    expect(bytes).toBeGreaterThan(100);
    await reader?.cancel();
    await pump;
  }, 20_000);
});

describe("graceful shutdown", () => {
  /** SIGTERM, then what a balancer and a client see while the process drains. */
  async function drain(delayMs: number) {
    const s = await startServerProcess({ SHUTDOWN_DELAY_MS: String(delayMs) });
    const get = (path: string) =>
      fetch(`${s.url}${path}`).then(
        (r) => r.status,
        () => 0,
      );
    const before = await get("/ready");
    const signalled = Date.now();
    s.proc.kill("SIGTERM");
    await Bun.sleep(200);
    const ready = await get("/ready");
    const health = await get("/health");
    const code = await s.proc.exited;
    return { before, ready, health, code, exitedAfterMs: Date.now() - signalled };
  }

  test("SIGTERM: /ready 503 at once, requests still served for SHUTDOWN_DELAY_MS, then exit 0", async () => {
    const [graceful, abrupt] = await Promise.all([drain(1500), drain(0)]);
    expect(graceful).toMatchObject({ before: 200, ready: 503, health: 200, code: 0 });
    expect(graceful.exitedAfterMs).toBeGreaterThanOrEqual(1400);
    // Control: with no delay the port is gone before a balancer could notice.
    expect(abrupt.health).toBe(0);
    expect(abrupt.code).toBe(0);
  }, 20_000);
});

test("production start-up refuses placeholder secrets and embedded stores, naming each variable", async () => {
  const proc = Bun.spawn(["bun", "run", "app/server.ts"], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      PORT: "0",
      NODE_ENV: "production",
      JWT_SECRET: "change-me-change-me-change-me-change-me",
      ADMIN_EMAIL: "admin@example.test",
      ADMIN_PASSWORD: "password",
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(await proc.exited).toBe(1);
  const stderr = await new Response(proc.stderr).text();
  for (const variable of ["JWT_SECRET", "ADMIN_PASSWORD", "MONGO_URL", "REDIS_URL"])
    expect(stderr).toContain(`${variable}: `);
}, 20_000);
