import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import { envSchema } from "../../src/core/config";
import {
  configTable,
  TABLE_END,
  TABLE_START,
  undescribedVariables,
  withConfigTable,
} from "../../src/core/config-table";
import { fencedBlocks, ROOT, readme } from "./readme";

describe("README", () => {
  test("its configuration table is the zod schema's (run `bun run docs:config` after a change)", async () => {
    const text = await readme();
    const undescribed = undescribedVariables();
    if (undescribed.length > 0)
      throw new Error(
        `${undescribed.join(", ")}: end its line in src/core/config.ts with .describe("…"), then run bun run docs:config`,
      );
    expect(text).toContain(TABLE_START);
    const generated = withConfigTable(text);
    if (generated !== text) {
      const stale = generated.split("\n").filter((l) => l.startsWith("| `") && !text.includes(l));
      throw new Error(
        `README.md's configuration table differs from the schema: run bun run docs:config\n${stale.join("\n")}`,
      );
    }
    // Every variable the schema accepts has its row, with the default and limits the schema holds.
    for (const name of Object.keys(envSchema.shape)) expect(text).toContain(`| \`${name}\` |`);
    expect(text).toContain("| `JWT_TTL_SECONDS` | `86400` | 60 – 2592000 |");
  });

  test("the comparison fails when the schema gains a variable or a description changes", async () => {
    const text = await readme();
    const grown = envSchema.extend({
      NEW_SETTING: z.coerce.number().int().min(1).max(9).default(3).describe("something new"),
    });
    expect(withConfigTable(text, configTable(grown))).not.toBe(text);
    expect(configTable(grown)).toContain("| `NEW_SETTING` | `3` | 1 – 9 | something new |");
    const undescribed = envSchema.extend({ BARE: z.string().optional() });
    expect(undescribedVariables(undescribed)).toEqual(["BARE"]);
    const reworded = envSchema.extend({ PORT: z.coerce.number().default(3000).describe("other") });
    expect(withConfigTable(text, configTable(reworded))).not.toBe(text);
  });

  test("the generator refuses a README without its markers", () => {
    expect(() => withConfigTable("# no table here")).toThrow(TABLE_END);
  });

  test("it and docs/*.md link nothing outside the repository, and their links resolve", async () => {
    const files = ["README.md", ...[...new Bun.Glob("docs/*.md").scanSync(ROOT)]];
    for (const file of files) {
      const text = await Bun.file(resolve(ROOT, file)).text();
      expect({ file, outside: text.includes("../shared") }).toEqual({ file, outside: false });
      for (const m of text.matchAll(/\]\((?!https?:|mailto:|#|<)([^)\s]+)\)/g)) {
        const target = resolve(dirname(resolve(ROOT, file)), (m[1] ?? "").split("#")[0] ?? "");
        // Inside the repository, and there.
        expect({ file, link: m[1], inside: target.startsWith(`${ROOT}/`) }).toEqual({
          file,
          link: m[1],
          inside: true,
        });
        expect({ file, link: m[1], exists: existsSync(target) }).toEqual({
          file,
          link: m[1],
          exists: true,
        });
      }
    }
  });

  test("its plugin example is docs/examples/audit-plugin.ts, which the typecheck covers", async () => {
    const [block] = fencedBlocks(await readme(), "ts");
    const file = await Bun.file(resolve(ROOT, "docs/examples/audit-plugin.ts")).text();
    expect(block).toBe(file);
    const tsconfig = (await Bun.file(resolve(ROOT, "tsconfig.json")).json()) as {
      include: string[];
    };
    expect(tsconfig.include).toContain("docs/examples");
  });
});
