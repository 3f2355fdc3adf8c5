import { expect, test } from "bun:test";
import { defaultResultsPath } from "../../bench/lib/results-path";

const full = { quick: false, sections: 6, allSections: 6, runs: 3 };
const at = new Date("2026-11-26T15:04:05.678Z");

test("only a full run writes bench/RESULTS.md", () => {
  expect(defaultResultsPath("/b", full, at)).toBe("/b/RESULTS.md");
});

test.each([
  ["--quick", { ...full, quick: true, runs: 1 }],
  ["--only read", { ...full, sections: 1 }],
  ["--runs 1", { ...full, runs: 1 }],
])("%s writes bench/results/partial-<timestamp>.md beside it", (_flag, shape) => {
  expect(defaultResultsPath("/b", shape, at)).toBe(
    "/b/results/partial-2026-11-26T15-04-05-678Z.md",
  );
});
