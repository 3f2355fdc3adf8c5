import type { DoctorReport } from "./scan";

/** The doctor's report as an operator reads it in a terminal. */
export function formatReport(report: DoctorReport): string {
  const lines = [
    `cachesync doctor: ${report.scanned.users} users and ${report.scanned.requests} open requests scanned`,
    "",
  ];
  for (const c of report.checks) {
    if (c.count === 0) continue;
    const fix = c.fix === "migrate" ? "fixed by `bun run migrate`" : "needs a decision";
    lines.push(`[${c.severity}] ${c.id}: ${c.count} — ${c.title} (${fix})`);
    lines.push(`    e.g. ${c.samples.join(", ")}`);
  }
  if (report.truncated) lines.push("", "(findings list truncated; counts are complete)");
  lines.push(
    "",
    report.ok
      ? "OK: nothing blocks correct operation."
      : "NOT OK: blocking problems above. `bun run migrate --dry-run` shows what it would change.",
  );
  return lines.join("\n");
}
