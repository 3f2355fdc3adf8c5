import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";

/**
 * The code before issue 15 (the approval protocol of 11 sequential MongoDB round trips, hono's
 * SSE streams, ioredis's per-command timer): the commit the work was built on. Sections run it
 * side by side with this checkout. BENCH_BASELINE_REF overrides it.
 */
export const BASELINE_REF = "6273dcab25068df2ec06d32595b0bba36ce3c196";
export const ROOT = join(import.meta.dir, "../..");

/**
 * The baseline's tree, extracted once under /tmp (git archive: no worktree, nothing changed in
 * the repository), with this checkout's node_modules and the given bench files copied over so
 * both sides run the same driver.
 */
export async function baselineCheckout(
  ref: string,
  sameFiles: readonly string[] = [],
): Promise<string> {
  const dir = join("/tmp", `cachesync-bench-baseline-${ref.slice(0, 12)}`);
  if (!existsSync(join(dir, "package.json"))) {
    mkdirSync(dir, { recursive: true });
    const p = Bun.spawn(["sh", "-c", `git -C '${ROOT}' archive '${ref}' | tar -x -C '${dir}'`]);
    if ((await p.exited) !== 0) throw new Error(`cannot extract baseline ${ref}`);
  }
  if (!existsSync(join(dir, "node_modules")))
    symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  for (const f of sameFiles) await Bun.write(join(dir, f), Bun.file(join(ROOT, f)));
  return dir;
}
