/** What a section hands back to the runner, and the markdown it is rendered to. */

export interface Target {
  /** The figure, as named in the issue. */
  name: string;
  /** Measured value, formatted. */
  value: string;
  /** The target, formatted (e.g. "≥ 0.8×"). */
  target: string;
  met: boolean | null;
  /** For a missed target: what the profile shows is left, and where it lives. */
  left?: string;
}

export interface SectionResult {
  id: string;
  title: string;
  /** Markdown body: tables and notes. */
  body: string;
  targets: Target[];
  /** Free-form lines for the runner's console summary. */
  log?: string[];
}

export interface SectionContext {
  quick: boolean;
  runs: number;
  /** Multiplies every measurement window (quick mode shortens them). */
  scale: number;
  log(msg: string): void;
}

export type Section = (ctx: SectionContext) => Promise<SectionResult>;

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  return [
    line(header),
    line(header.map((_h, i) => (i === 0 ? "---" : "---:"))),
    ...rows.map(line),
  ].join("\n");
}

export const metMark = (met: boolean | null) => (met === null ? "n/a" : met ? "met" : "**missed**");
