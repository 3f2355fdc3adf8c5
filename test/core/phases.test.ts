import { describe, expect, test } from "bun:test";
import { MemoryCacheStore } from "../../src/adapters/memory/memory-cache-store";
import { MemoryDocumentStore } from "../../src/adapters/memory/memory-document-store";
import { MemoryEventBus } from "../../src/adapters/memory/memory-event-bus";
import { createApp } from "../../src/core/app";
import { makeConfig } from "../../src/core/config";
import type { HookSpec, WriteChange } from "../../src/core/hooks";
import type { Plugin } from "../../src/core/plugin";

/** Named phases (src/core/hooks.ts): a fixed set, checked when a hook is registered. */
const stores = () => ({
  db: new MemoryDocumentStore(),
  cache: new MemoryCacheStore(),
  bus: new MemoryEventBus({ maxLen: 10 }),
});
const config = makeConfig({ LOG_LEVEL: "silent" });
const appWith = (hooks: readonly HookSpec[] | (() => HookSpec[])) =>
  createApp({
    config,
    stores: stores(),
    plugins: [{ name: "p", hooks: typeof hooks === "function" ? () => hooks() : hooks } as Plugin],
  });

describe("registration", () => {
  test("an unknown phase, a missing run() or an op the phase never sees is a coded error", async () => {
    const cases = [
      { phase: "afterRead", run: () => undefined },
      { phase: "afterWrite" },
      { phase: "read", op: "insertOne", run: async () => null },
      { phase: "beforeWrite", op: "find", run: () => undefined },
    ] as unknown as HookSpec[];
    for (const h of cases) {
      for (const hooks of [[h], () => [h]]) {
        const err = await appWith(hooks).catch((e) => e);
        expect([JSON.stringify(h), err.code]).toEqual([JSON.stringify(h), "CS_ERR_PLUGIN_HOOK"]);
        expect(err.message).toContain('Plugin "p"');
      }
    }
  });
});

describe("a write through the phases", () => {
  test("beforeWrite → write onion → store → afterWrite (documents computed once) → announce → result", async () => {
    const log: string[] = [];
    const changes: WriteChange[] = [];
    const app = await appWith([
      { phase: "beforeWrite", run: (c) => void log.push(`before ${c.op} ${c.write.reason}`) },
      {
        phase: "write",
        run: async (c, next) => {
          log.push(`write> ${c.op}`);
          const r = await next();
          log.push(`<write ${c.op}`);
          return r;
        },
      },
      {
        phase: "afterWrite",
        run: async (ch) => {
          await Bun.sleep(5);
          changes.push(ch);
          log.push(`after ${ch.op}`);
        },
      },
      { phase: "announce", run: (ch) => void log.push(`announce ${ch.op}`) },
      { phase: "result", op: "updateMany", run: (r) => ({ shaped: r }) },
    ]);
    const things = app.ctx.repo.collection("things", { write: { reason: "test" } });
    const a = await things.insertOne({ n: 1 });
    await things.insertOne({ n: 1 });
    log.length = 0;
    changes.length = 0;
    const out = await things.updateMany({ n: 1 }, { $inc: { n: 1 } });
    expect(log).toEqual([
      "before updateMany test",
      "write> updateMany",
      "<write updateMany",
      "after updateMany",
      "announce updateMany",
    ]);
    expect(out).toMatchObject({ shaped: { matchedCount: 2 } });
    expect(changes[0]?.after.map((d) => d.n)).toEqual([2, 2]);
    expect(changes[0]?.removed).toEqual([]);
    await things.deleteOne({ _id: a._id });
    expect(changes.at(-1)?.removed.map((d) => d.n)).toEqual([2]);
    expect(changes.at(-1)?.after).toEqual([]);
    await app.close();
  });

  test("a read runs the read onion and the result phase only", async () => {
    const log: string[] = [];
    const app = await appWith([
      {
        phase: "read",
        run: (c, next) => {
          log.push(`read ${c.op}`);
          return next();
        },
      },
      { phase: "beforeWrite", run: () => void log.push("never") },
      { phase: "result", op: "countDocuments", run: (r) => Number(r) * 10 },
    ]);
    expect(await app.ctx.repo.collection("things").countDocuments({})).toBe(0);
    expect(log).toEqual(["read countDocuments"]);
    await app.close();
  });
});
