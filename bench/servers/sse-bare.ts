/**
 * The SSE fan-out floor for bench/sections/sse.ts: a bare Bun.serve doing only what delivery
 * needs — one Redis subscription on the events topic, each message parsed once and encoded once,
 * the frame written to every stream of its user (a Bun direct-stream body, as the app's: each
 * write goes straight into the response's sink). No backpressure handling, no auth
 * check (the user is read from the bearer token's payload, unverified), no hub, no metrics, no
 * replay, no heartbeats. Env: PORT, HOST, REDIS_URL, SSE_TOPIC.
 */
import Redis from "ioredis";

const encoder = new TextEncoder();
const CONNECTED = encoder.encode("retry: 3000\n: connected\n\n");
/** Bun's direct stream; lib.dom's constructor type (the project compiles with it) has no overload for one. */
const DirectStream = ReadableStream as unknown as new (
  source: import("bun").DirectUnderlyingSource<Uint8Array>,
) => ReadableStream<Uint8Array>;
const byUser = new Map<string, Set<ReadableStreamDirectController>>();

function userOf(req: Request): string | null {
  const token = req.headers.get("authorization")?.replace(/^Bearer /, "") ?? "";
  try {
    const claims = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString());
    return typeof claims.sub === "string" ? claims.sub : null;
  } catch {
    return null;
  }
}

const sub = new Redis(process.env.REDIS_URL as string);
sub.on("message", (_channel: string, raw: string) => {
  const msg = JSON.parse(raw) as { id: string; payload: string };
  const { type, ...rest } = JSON.parse(msg.payload) as { type: string; userId: string };
  const streams = byUser.get(rest.userId);
  if (!streams) return;
  const frame = encoder.encode(`event: ${type}\nid: ${msg.id}\ndata: ${JSON.stringify(rest)}\n\n`);
  for (const sink of streams) sink.write(frame);
});
await sub.subscribe(process.env.SSE_TOPIC as string);

const server = Bun.serve({
  port: Number(process.env.PORT),
  hostname: process.env.HOST ?? "127.0.0.1",
  idleTimeout: 0,
  fetch(req) {
    const path = new URL(req.url).pathname;
    if (path === "/health") return new Response("ok");
    if (path !== "/api/v1/events") return new Response("not found", { status: 404 });
    const user = userOf(req);
    if (!user) return new Response("unauthorized", { status: 401 });
    let set = byUser.get(user);
    if (!set) {
      set = new Set();
      byUser.set(user, set);
    }
    const streams = set;
    let sink: ReadableStreamDirectController | undefined;
    const body = new DirectStream({
      type: "direct",
      pull(c) {
        sink = c;
        c.write(CONNECTED);
        streams.add(c);
        // Pending for as long as the response lives: a settled pull would end the body.
        return new Promise<void>(() => {});
      },
      cancel() {
        if (sink) streams.delete(sink);
      },
    });
    return new Response(body, {
      headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" },
    });
  },
});
console.log(`sse-bare listening on ${server.port}`);
