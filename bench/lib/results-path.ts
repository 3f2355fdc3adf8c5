import { join } from "node:path";

export interface RunShape {
  quick: boolean;
  /** Sections selected by --only, and how many exist. */
  sections: number;
  allSections: number;
  runs: number;
}

/** The committed report is only ever rewritten by a full run at the default number of runs. */
export function isFullRun(r: RunShape): boolean {
  return !r.quick && r.sections === r.allSections && r.runs >= 3;
}

/**
 * Where a run writes when no `--out` is given: a full run regenerates `bench/RESULTS.md`; a quick
 * or partial run (noisier, missing sections) goes to `bench/results/partial-<timestamp>.md`, so it
 * can never replace the committed figures by accident.
 */
export function defaultResultsPath(benchDir: string, r: RunShape, now = new Date()): string {
  if (isFullRun(r)) return join(benchDir, "RESULTS.md");
  const stamp = now.toISOString().replace(/[:.]/g, "-");
  return join(benchDir, "results", `partial-${stamp}.md`);
}
