import { describe, expect, test } from "bun:test";
import { MemoryCacheStore } from "../../src/adapters/memory/memory-cache-store";
import { MemoryDocumentStore } from "../../src/adapters/memory/memory-document-store";
import { MemoryEventBus } from "../../src/adapters/memory/memory-event-bus";
import { createApp } from "../../src/core/app";
import { makeConfig } from "../../src/core/config";
import type { Plugin } from "../../src/core/plugin";

const stores = () => ({
  db: new MemoryDocumentStore(),
  cache: new MemoryCacheStore(),
  bus: new MemoryEventBus({ maxLen: 10 }),
});
const config = makeConfig({ LOG_LEVEL: "silent" });

describe("plugin loading", () => {
  test("a missing dependency is a coded error naming both plugins", async () => {
    const err = await createApp({
      config,
      stores: stores(),
      plugins: [{ name: "b", dependencies: ["a"] }],
    }).catch((e) => e);
    expect(err.code).toBe("CS_ERR_PLUGIN_DEPENDENCY");
    expect(err.message).toContain('"b" depends on "a"');
  });

  test("a dependency loaded after its dependant is refused", async () => {
    const err = await createApp({
      config,
      stores: stores(),
      plugins: [{ name: "b", dependencies: ["a"] }, { name: "a" }],
    }).catch((e) => e);
    expect(err.code).toBe("CS_ERR_PLUGIN_DEPENDENCY");
    expect(err.message).toContain("must be loaded before");
  });

  test("duplicate names and malformed plugins are refused", async () => {
    expect(
      (
        await createApp({
          config,
          stores: stores(),
          plugins: [{ name: "a" }, { name: "a" }],
        }).catch((e) => e)
      ).code,
    ).toBe("CS_ERR_PLUGIN_DUPLICATE");
    expect(
      (
        await createApp({ config, stores: stores(), plugins: [{ name: "Bad Name" }] }).catch(
          (e) => e,
        )
      ).code,
    ).toBe("CS_ERR_PLUGIN_INVALID");
  });

  test("lifecycle: register and onReady in order, onClose in reverse; hooks wrap repository calls", async () => {
    const log: string[] = [];
    const p = (name: string): Plugin => ({
      name,
      register: () => void log.push(`register ${name}`),
      onReady: () => void log.push(`ready ${name}`),
      onClose: () => void log.push(`close ${name}`),
      hooks: [
        {
          collection: "things",
          run: async (c, next) => {
            log.push(`hook ${name} ${c.op}`);
            return next();
          },
        },
      ],
    });
    const app = await createApp({ config, stores: stores(), plugins: [p("a"), p("b")] });
    await app.ready();
    await app.ctx.repo.collection("things").insertOne({ n: 1 });
    await app.ctx.repo.collection("things", { hooks: false }).findOne({});
    await app.close();
    expect(log).toEqual([
      "register a",
      "register b",
      "ready a",
      "ready b",
      "hook a insertOne",
      "hook b insertOne",
      "close b",
      "close a",
    ]);
  });

  test("services: use() of a missing service is a coded error", async () => {
    const app = await createApp({ config, stores: stores(), plugins: [] });
    expect(() => app.ctx.use("cacheSync")).toThrow(/not provided/);
  });

  test("unknown routes and health answer with the envelope", async () => {
    const app = await createApp({ config, stores: stores(), plugins: [] });
    expect((await app.app.request("/health")).status).toBe(200);
    const res = await app.app.request("/nope");
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ success: false, error: { code: "NOT_FOUND" } });
  });
});
