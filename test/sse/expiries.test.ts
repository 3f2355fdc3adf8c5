import { expect, test } from "bun:test";
import { Expiries, type Expiring } from "../../plugins/features/sse/expiries";

const stream = (log: string[], name: string): Expiring => ({ expire: () => log.push(name) });

/** Real timers, a fake clock: what expires depends on the clock alone. */
test("each stream expires at its own time from one timer, in time order, never synchronously", async () => {
  let now = 1000;
  const q = new Expiries(() => now);
  const log: string[] = [];
  q.at(1030, stream(log, "c"));
  q.at(1010, stream(log, "a"));
  q.at(1020, stream(log, "b"));
  q.at(900, stream(log, "past"));
  expect(log).toEqual([]); // an expiry already past still waits for the timer
  await Bun.sleep(40);
  expect(log).toEqual(["past"]);
  now = 1020;
  await Bun.sleep(60);
  expect(log).toEqual(["past", "a", "b"]);
  now = 1030;
  await Bun.sleep(60);
  expect(log).toEqual(["past", "a", "b", "c"]);
  expect(q.size).toBe(0);
  q.stop();
});

test("a cancelled expiry runs nothing and keeps no reference to its stream", async () => {
  let now = 0;
  const q = new Expiries(() => now);
  const log: string[] = [];
  const first = q.at(10, stream(log, "closed"));
  q.at(20, stream(log, "open"));
  first.cancel();
  expect(first.target).toBeNull();
  now = 20;
  await Bun.sleep(60);
  expect(log).toEqual(["open"]);
  q.stop();
});
