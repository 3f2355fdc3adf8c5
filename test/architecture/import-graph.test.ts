import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { importEdges, rawStoreUses, violations } from "./import-graph";
import { ALLOWED_EXCEPTIONS, RAW_STORE_USERS } from "./import-rules";

const REPO = join(import.meta.dir, "../..");
const FIXTURE = join(import.meta.dir, "fixture");
const LAYERED = ["app", "src", "plugins"];

describe("import graph (rules in test/architecture/import-rules.ts)", () => {
  test("core imports no plugin or adapter, adapters no plugin, plugins only each other's public files", () => {
    const edges = importEdges(REPO, LAYERED);
    expect(edges.length).toBeGreaterThan(100);
    expect(violations(edges)).toEqual([]);
  });

  test("every allowed exception still exists (a fixed one is removed from the table)", () => {
    const edges = new Set(importEdges(REPO, LAYERED).map((e) => `${e.from} -> ${e.to}`));
    for (const edge of Object.keys(ALLOWED_EXCEPTIONS)) expect(edges).toContain(edge);
  });

  test("fails on a tree with bad imports", () => {
    expect(existsSync(FIXTURE)).toBe(true);
    const found = violations(importEdges(FIXTURE, LAYERED)).map(
      (v) => `${v.from} -> ${v.to}: ${v.reason}`,
    );
    expect(found.sort()).toEqual([
      'plugins/features/beta/reach.ts -> plugins/features/alpha/internal.ts: plugin "beta" reaches into "alpha" (only its index.ts or a declared public file)',
      "src/adapters/store.ts -> plugins/features/alpha/index.ts: adapter may not import plugin",
      "src/core/app.ts -> plugins/features/alpha/internal.ts: core may not import plugin",
    ]);
  });

  test("only the sync layer and operator commands use the raw stores (ctx.stores)", () => {
    expect(rawStoreUses(REPO, RAW_STORE_USERS)).toEqual([]);
    expect(rawStoreUses(FIXTURE, RAW_STORE_USERS)).toEqual(["plugins/features/beta/peek.ts"]);
  });
});
