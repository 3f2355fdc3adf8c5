import { describe, expect, test } from "bun:test";
import { compose, HookPipeline, type RepoCall, type RepoHook } from "../../src/core/hooks";

const call = (over: Partial<RepoCall> = {}): RepoCall => ({
  collection: "users",
  op: "findOne",
  kind: "read",
  args: [{}],
  write: {},
  ...over,
});

describe("hook onion", () => {
  test("runs outermost first and unwinds in reverse", async () => {
    const log: string[] = [];
    const layer =
      (name: string): RepoHook =>
      async (_c, next) => {
        log.push(`${name}>`);
        const r = await next();
        log.push(`<${name}`);
        return r;
      };
    const out = await compose([layer("a"), layer("b"), layer("c")], async () => {
      log.push("store");
      return 1;
    })(call());
    expect(out).toBe(1);
    expect(log).toEqual(["a>", "b>", "c>", "store", "<c", "<b", "<a"]);
  });

  test("a hook may short-circuit without calling next", async () => {
    let storeCalls = 0;
    const out = await compose([async () => "cached", async (_c, n) => n()], async () => {
      storeCalls++;
      return "db";
    })(call());
    expect(out).toBe("cached");
    expect(storeCalls).toBe(0);
  });

  test("hooks rewrite args on the way in and results on the way out", async () => {
    const rewriteArgs: RepoHook = (c, next) => {
      c.args = [{ rewritten: true }];
      return next();
    };
    const rewriteResult: RepoHook = async (_c, next) => ({ wrapped: await next() });
    const out = await compose([rewriteResult, rewriteArgs], async (c) => c.args[0])(call());
    expect(out).toEqual({ wrapped: { rewritten: true } });
  });

  test("a write's context travels with the call, typed", async () => {
    const seen: unknown[] = [];
    const run = compose(
      [
        async (c, next) => {
          seen.push(c.write.reason);
          return next();
        },
      ],
      async () => 1,
    );
    await run(call({ kind: "write", op: "insertOne", write: { reason: "signup", opId: "x" } }));
    expect(seen).toEqual(["signup"]);
  });

  test("calling next() twice rejects and runs the store once", async () => {
    let storeCalls = 0;
    const twice: RepoHook = async (_c, next) => {
      await next();
      return next();
    };
    const err = await compose([twice], async () => ++storeCalls)(call()).catch((e) => e);
    expect((err as { code: string }).code).toBe("CS_ERR_HOOK_NEXT_TWICE");
    expect(storeCalls).toBe(1);
  });

  test("a hook throwing synchronously becomes a rejection", async () => {
    const boom: RepoHook = () => {
      throw new Error("boom");
    };
    await expect(compose([boom], async () => 1)(call())).rejects.toThrow("boom");
  });

  test("targets by collection and op, with a catch-all", async () => {
    const seen: string[] = [];
    const mark =
      (n: string): RepoHook =>
      (_c, next) => {
        seen.push(n);
        return next();
      };
    const pipeline = new HookPipeline([
      { plugin: "all", run: mark("all") },
      { plugin: "users", collection: "users", run: mark("users") },
      { plugin: "find", collection: "users", op: ["findOne", "find"], run: mark("find") },
      { plugin: "writes", kind: "write", run: mark("writes") },
      { plugin: "ledger", collection: "ledger", run: mark("ledger") },
    ]);
    const run = (c: RepoCall) => pipeline.runner(c.collection, c.op, c.kind, async () => null)(c);
    await run(call());
    expect(seen).toEqual(["all", "users", "find"]);
    seen.length = 0;
    await run(call({ collection: "ledger", op: "insertOne", kind: "write" }));
    expect(seen).toEqual(["all", "writes", "ledger"]);
  });
});
