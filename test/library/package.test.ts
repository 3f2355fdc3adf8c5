import { afterAll, beforeAll, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/**
 * The package as a team gets it: `bun pm pack` (so the `files` list is what ships), installed
 * into a separate project (test/library/fixture-app) that imports it by name — `cachesync`,
 * `cachesync/client`, `cachesync/testing` — declares its own cached collection, reads and writes
 * through it, and typechecks with its own strict tsconfig.
 */
const ROOT = resolve(import.meta.dir, "../..");
let dir: string;

const run = async (cmd: string[], cwd: string) => {
  const p = Bun.spawn(cmd, { cwd, stdout: "pipe", stderr: "pipe", env: { ...process.env } });
  const [code, out, err] = await Promise.all([
    p.exited,
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
  ]);
  return { code, out, err };
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "cs-package-"));
  const packed = await run(["bun", "pm", "pack", "--destination", dir, "--quiet"], ROOT);
  expect(packed.code, packed.err).toBe(0);
  const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"));
  if (!tarball) throw new Error(`no tarball in ${dir}: ${packed.out}${packed.err}`);
  const app = join(dir, "app");
  cpSync(join(import.meta.dir, "fixture-app"), app, { recursive: true });
  const manifest = join(app, "package.json");
  writeFileSync(
    manifest,
    readFileSync(manifest, "utf8").replace("__TARBALL__", join(dir, tarball)),
  );
  const installed = await run(["bun", "install", "--no-save"], app);
  expect(installed.code, installed.err).toBe(0);
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("the packed package runs in a separate project, imported by its name", async () => {
  const r = await run(["bun", "run", "app.ts"], join(dir, "app"));
  expect(r.code, r.err).toBe(0);
  expect(JSON.parse(r.out.trim().split("\n").at(-1) ?? "{}")).toEqual({
    first: { title: "Hello", internal: false },
    second: { title: "Hello again", version: 2 },
    many: [true, false],
    health: 200,
    route: "/api/v1/users/me",
    port: true,
  });
}, 60_000);

test("the separate project typechecks against the package's types (strict)", async () => {
  const tsc = join(ROOT, "node_modules", ".bin", "tsc");
  const r = await run([tsc, "--noEmit", "-p", "tsconfig.json"], join(dir, "app"));
  expect(r.code, `${r.out}${r.err}`).toBe(0);
}, 120_000);
