/**
 * `bun run docs:config`: rewrites the README's configuration table from the zod env schema.
 * `--check` only compares and exits 1 when the README is out of date (what the test does).
 */
import { resolve } from "node:path";
import { undescribedVariables, withConfigTable } from "../src/core/config-table";

const path = resolve(import.meta.dir, "../README.md");
const missing = undescribedVariables();
if (missing.length > 0) {
  console.error(
    `No description for ${missing.join(", ")}: end its line in src/core/config.ts with .describe("…").`,
  );
  process.exit(1);
}
const current = await Bun.file(path).text();
const next = withConfigTable(current);
if (process.argv.includes("--check")) {
  if (next !== current) {
    console.error("README.md's configuration table is out of date: run `bun run docs:config`.");
    process.exit(1);
  }
} else if (next !== current) {
  await Bun.write(path, next);
  console.log("README.md: configuration table rewritten");
} else {
  console.log("README.md: configuration table already up to date");
}
