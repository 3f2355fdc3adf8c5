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
