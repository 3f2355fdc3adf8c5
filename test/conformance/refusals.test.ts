import { expect, test } from "bun:test";
import { Glob } from "bun";
import { REFUSED, refusalTable } from "./refusals";

/** The refusal list has one source, refusals.ts: the doc shows it, and every entry is tested. */
const doc = await Bun.file("docs/EMBEDDED-MONGO.md").text();

test("docs/EMBEDDED-MONGO.md's refusal table is refusals.ts's list", () => {
  const table = /<!-- refusals:start -->\n([\s\S]*?)\n<!-- refusals:end -->/.exec(doc)?.[1];
  // On a difference, the expected side is the table to paste into the doc.
  expect(table).toBe(refusalTable());
});

test("every entry of the refusal list has a conformance test (featureOrRefusal)", async () => {
  let sources = "";
  for await (const path of new Glob("test/conformance/*.conformance.ts").scan("."))
    sources += await Bun.file(path).text();
  const untested = Object.keys(REFUSED).filter(
    (key) => !new RegExp(`featureOrRefusal\\(\\s*b,\\s*"${key}"`).test(sources),
  );
  expect(untested).toEqual([]);
});
