import { expect, test } from "bun:test";
import { SSEStreamingApi } from "hono/streaming";
import { type CloseReason, SseConnection } from "../../plugins/sse/connection";
import type { UserEvent } from "../../plugins/sse/sse-event";
import { SseReader } from "./sse-client";

const ev = (id: string): UserEvent => ({
  id,
  version: 1,
  event: "userDataUpdated",
  userId: "u1",
  data: JSON.stringify({ n: id }),
});

/** A connection on a bare stream, read like a browser would: the replay/live merge in isolation. */
function harness() {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const stream = new SSEStreamingApi(writable, readable);
  const closed: CloseReason[] = [];
  const conn = new SseConnection({ id: "u1", role: "user", email: "u1@example.test" }, stream, {
    maxQueue: 100,
    heartbeatMs: 60_000,
    retryMs: 1000,
    onDelivered: () => {},
    onClosed: (_c, reason) => closed.push(reason),
  });
  return { conn, reader: new SseReader(new Response(stream.responseReadable)), closed };
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
