import { expect, test } from "bun:test";
import { type CloseReason, SseConnection } from "../../plugins/features/sse/connection";
import type { UserEvent } from "../../plugins/features/sse/sse-event";
import { SseReader } from "./sse-client";

const ev = (id: string): UserEvent => ({
  id,
  version: 1,
  event: "userDataUpdated",
  userId: "u1",
  data: JSON.stringify({ n: id }),
});

/** A connection read like a browser would: the replay/live merge in isolation. */
function harness() {
  const closed: CloseReason[] = [];
  const conn = new SseConnection(
    { id: "u1", role: "user", email: "u1@example.test" },
    {
      maxQueue: 100,
      retryMs: 1000,
      onDelivered: () => {},
      onClosed: (_c, reason) => closed.push(reason),
    },
  );
  return { conn, reader: new SseReader(new Response(conn.body)), closed };
}

test("events arriving live during the replay read are sent once, after the replay, in order", async () => {
  const { conn, reader } = harness();
  conn.deliver(ev("5-0")); // published before the replay read finished: also in the replay
  conn.deliver(ev("7-0")); // published after: only live
  conn.finishReplay([ev("4-0"), ev("5-0")]);
  conn.deliver(ev("5-0")); // the same message reaching this instance late over the bus
  conn.deliver(ev("8-0"));
  const ids: (string | undefined)[] = [];
  for (let i = 0; i < 4; i++) ids.push((await reader.nextEvent(500)).id);
  expect(ids).toEqual(["4-0", "5-0", "7-0", "8-0"]);
  await Bun.sleep(20);
  expect(reader.events()).toHaveLength(4);
  conn.close("shutdown");
  const bye = await reader.next((f) => f.event === "close", 500);
  expect(JSON.parse(bye.data ?? "{}")).toEqual({ reason: "shutdown" });
  await reader.ended;
});

test("too many live events held during a replay drop the connection instead of buffering", async () => {
  const { conn, closed } = harness();
  for (let i = 0; i <= 100; i++) conn.deliver(ev(`${i}-0`));
  expect(closed).toEqual(["slow-client"]);
  expect(conn.closed).toBe(true);
});

test("a client that stops reading is dropped once maxQueue frames wait, and its body ends", async () => {
  const closed: CloseReason[] = [];
  const conn = new SseConnection(
    { id: "u1", role: "user", email: "u1@example.test" },
    {
      maxQueue: 8,
      retryMs: 1000,
      onDelivered: () => {},
      onClosed: (_c, reason) => closed.push(reason),
    },
  );
  conn.finishReplay([]);
  for (let i = 0; i < 40; i++) conn.deliver(ev(`${i}-0`));
  expect(closed).toEqual(["slow-client"]);
  const text = await new Response(conn.body).text();
  expect((text.match(/event: userDataUpdated/g) ?? []).length).toBeLessThan(40);
});

test("one encoding per event, shared by every stream it goes to", async () => {
  const e = ev("9-0");
  const a = harness();
  const b = harness();
  a.conn.finishReplay([]);
  b.conn.finishReplay([]);
  a.conn.deliver(e);
  b.conn.deliver(e);
  expect((await a.reader.nextEvent(500)).id).toBe("9-0");
  expect((await b.reader.nextEvent(500)).id).toBe("9-0");
  expect(e.frame).toBeInstanceOf(Uint8Array);
  a.conn.close("shutdown");
  b.conn.close("shutdown");
});

/** A connection served by a real Bun.serve, read by a raw socket the test controls. */
async function served(maxQueue: number) {
  const closed: CloseReason[] = [];
  const conn = new SseConnection(
    { id: "u1", role: "user", email: "u1@example.test" },
    {
      maxQueue,
      retryMs: 1000,
      onDelivered: () => {},
      onClosed: (_c, reason) => closed.push(reason),
    },
  );
  conn.finishReplay([]);
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    fetch: () => new Response(conn.body, { headers: { "content-type": "text/event-stream" } }),
  });
  let received = "";
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port: server.port as number,
    socket: {
      data(_s, d) {
        received += d.toString();
      },
    },
  });
  socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  while (!received.includes(": connected")) await Bun.sleep(5);
  return { conn, closed, server, socket, received: () => received };
}

test("served: a client that stops reading fills the socket, then maxQueue frames, and is dropped", async () => {
  const { conn, closed, server, socket } = await served(8);
  socket.pause();
  const big: UserEvent = { ...ev("1-0"), data: JSON.stringify({ pad: "x".repeat(64 * 1024) }) };
  // Far more than the socket and the response sink take (a few MB): the backlog must overflow.
  let i = 0;
  for (; i < 2000 && !conn.closed; i++) {
    conn.deliver({ ...big, id: `${i}-0` });
    if (i % 16 === 0) await Bun.sleep(1);
  }
  expect(closed).toEqual(["slow-client"]);
  // The socket and the sink took frames first: the backlog held only what they refused.
  expect(i).toBeGreaterThan(8);
  socket.end();
  server.stop(true);
});

test("served: events reach the socket as written, and a client that goes away closes the stream", async () => {
  const { conn, closed, server, socket, received } = await served(8);
  conn.deliver(ev("2-0"));
  conn.deliver(ev("3-0"));
  const deadline = Date.now() + 2000;
  while (!received().includes("id: 3-0") && Date.now() < deadline) await Bun.sleep(5);
  expect(received()).toContain("id: 2-0\ndata:");
  expect(received()).toContain("id: 3-0\ndata:");
  socket.end();
  while (closed.length === 0 && Date.now() < deadline) await Bun.sleep(5);
  expect(closed).toEqual(["client-gone"]);
  server.stop(true);
});
