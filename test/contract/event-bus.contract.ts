import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { BusMessage, EventBus } from "../../src/core/ports/event-bus";

export interface EventBusSubject {
  bus: EventBus;
  /** The bus was built with this replay window. */
  maxLen: number;
  /**
   * How many entries beyond maxLen the log may keep: Redis trims with `MAXLEN ~`, whole stream
   * nodes (100 entries by default) at a time; the in-process ring is exact.
   */
  windowSlack: number;
  /** Topic names start with this, so a shared Redis is left as found. */
  prefix: string;
  teardown(): Promise<void>;
}

const parseId = (id: string) => id.split("-").map(Number) as [number, number];
const isAfter = (a: string, b: string) => {
  const [am, as] = parseId(a);
  const [bm, bs] = parseId(b);
  return am > bm || (am === bm && as > bs);
};

export async function waitFor(cond: () => boolean, withinMs = 2_000): Promise<void> {
  const until = Date.now() + withinMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`condition not met within ${withinMs} ms`);
    await Bun.sleep(5);
  }
}

/** The behaviour every EventBus adapter must share (SPEC §5 Events). */
export function eventBusContract(name: string, open: () => Promise<EventBusSubject>) {
  describe(`EventBus contract: ${name}`, () => {
    let s: EventBusSubject;
    let bus: EventBus;
    let n = 0;
    const topic = (label: string) => `${s.prefix}${label}:${++n}`;

    beforeAll(async () => {
      s = await open();
      bus = s.bus;
    });
    afterAll(async () => {
      await s?.teardown();
    });

    test("a publish reaches a subscriber with the id publish returned", async () => {
      const t = topic("basic");
      const got: BusMessage[] = [];
      const unsubscribe = await bus.subscribe(t, (m) => got.push(m));
      const id = await bus.publish(t, JSON.stringify({ userId: "u1", é: 'ü/"' }));
      await waitFor(() => got.length === 1);
      expect(got[0]).toEqual({ id, payload: JSON.stringify({ userId: "u1", é: 'ü/"' }) });
      expect(id).toMatch(/^\d+-\d+$/);
      await unsubscribe();
    });

    test("the publisher never runs subscriber code inline", async () => {
      const t = topic("async");
      let calls = 0;
      const unsubscribe = await bus.subscribe(t, () => calls++);
      const pending = bus.publish(t, "x");
      expect(calls).toBe(0);
      await pending;
      await waitFor(() => calls === 1);
      await unsubscribe();
    });

    test("every subscriber of a topic gets it; other topics and unsubscribed handlers do not", async () => {
      const [t, other] = [topic("fan"), topic("fan")];
      const a: string[] = [];
      const b: string[] = [];
      const elsewhere: string[] = [];
      const unA = await bus.subscribe(t, (m) => a.push(m.payload));
      const unB = await bus.subscribe(t, (m) => b.push(m.payload));
      const unOther = await bus.subscribe(other, (m) => elsewhere.push(m.payload));
      await bus.publish(t, "1");
      await waitFor(() => a.length === 1 && b.length === 1);
      await unB();
      await unB();
      await bus.publish(t, "2");
      await bus.publish(other, "o");
      await waitFor(() => a.length === 2 && elsewhere.length === 1);
      expect(a).toEqual(["1", "2"]);
      expect(b).toEqual(["1"]);
      expect(elsewhere).toEqual(["o"]);
      await unA();
      await unOther();
    });

    test("a throwing handler does not stop delivery to the others", async () => {
      const t = topic("throw");
      const got: string[] = [];
      const unBad = await bus.subscribe(t, () => {
        throw new Error("handler bug");
      });
      const unGood = await bus.subscribe(t, (m) => got.push(m.payload));
      await bus.publish(t, "a");
      await bus.publish(t, "b");
      await waitFor(() => got.length === 2);
      expect(got).toEqual(["a", "b"]);
      await unBad();
      await unGood();
    });

    test("ids increase monotonically and subscribers see publish order", async () => {
      const t = topic("mono");
      const got: string[] = [];
      const unsubscribe = await bus.subscribe(t, (m) => got.push(m.id));
      const ids: string[] = [];
      for (let i = 0; i < 200; i++) ids.push(await bus.publish(t, String(i)));
      // Concurrent publishes too: each gets a distinct id.
      const burst = await Promise.all(
        Array.from({ length: 50 }, (_, i) => bus.publish(t, `c${i}`)),
      );
      expect(new Set(burst).size).toBe(50);
      for (let i = 1; i < ids.length; i++) expect(isAfter(ids[i], ids[i - 1])).toBe(true);
      for (const id of burst) expect(isAfter(id, ids[ids.length - 1])).toBe(true);
      await waitFor(() => got.length === 250);
      for (let i = 1; i < got.length; i++) expect(isAfter(got[i], got[i - 1])).toBe(true);
      await unsubscribe();
    });

    test("since replays strictly after an id, oldest first, at most limit", async () => {
      const t = topic("since");
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await bus.publish(t, `p${i}`));
      expect(await bus.since(t, ids[1], 10)).toEqual([
        { id: ids[2], payload: "p2" },
        { id: ids[3], payload: "p3" },
        { id: ids[4], payload: "p4" },
      ]);
      expect((await bus.since(t, ids[0], 2)).map((m) => m.payload)).toEqual(["p1", "p2"]);
      expect((await bus.since(t, "0-0", 100)).map((m) => m.id)).toEqual(ids);
      expect(await bus.since(t, ids[4], 10)).toEqual([]);
      expect(await bus.since(t, ids[0], 0)).toEqual([]);
    });

    test("since: an id that is not a stream id, or an unknown topic, replays nothing", async () => {
      const t = topic("since-bad");
      await bus.publish(t, "x");
      for (const bad of ["", "abc", "12", "1-2-3", "-1-0", "1-x", "(0-0"])
        expect(await bus.since(t, bad, 10)).toEqual([]);
      expect(await bus.since(topic("never-published"), "0-0", 10)).toEqual([]);
    });

    test("the replay window is bounded by maxLen and always holds the newest maxLen", async () => {
      const t = topic("window");
      const total = s.maxLen * 3 + s.windowSlack * 2 + 10;
      const ids: string[] = [];
      for (let i = 0; i < total; i++) ids.push(await bus.publish(t, String(i)));
      const kept = await bus.since(t, "0-0", total);
      expect(kept.length).toBeGreaterThanOrEqual(s.maxLen);
      expect(kept.length).toBeLessThanOrEqual(s.maxLen + s.windowSlack);
      expect(kept.map((m) => m.id)).toEqual(ids.slice(ids.length - kept.length));
      // A client whose last id fell out of the window gets what is left, not an error.
      expect((await bus.since(t, ids[0], total)).length).toBe(kept.length);
    });
  });
}
