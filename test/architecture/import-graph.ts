import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { ALLOWED_EXCEPTIONS, PLUGIN_FOLDERS, PUBLIC_FILES, ROLES } from "./import-rules";

export interface Edge {
  from: string;
  to: string;
}

export interface Violation extends Edge {
  reason: string;
}

// Static imports and re-exports (multi-line included), side-effect imports, dynamic imports and
// module augmentations: each is a dependency on the named file.
const SPECIFIERS = [
  /\b(?:import|export)\s+(?:type\s+)?[^'";]*?\bfrom\s*["']([^"']+)["']/g,
  /\bimport\s*["']([^"']+)["']/g,
  /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
  /\bdeclare\s+module\s+["']([^"']+)["']/g,
];

const stripComments = (src: string) =>
  src.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");

function* sourceFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (/\.tsx?$/.test(name) && !name.endsWith(".d.ts")) yield path;
  }
}

function resolveRelative(fromFile: string, spec: string): string | null {
  const base = resolve(dirname(fromFile), spec);
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, join(base, "index.ts")]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return null;
}

/** Every relative import between the TypeScript files under `dirs` of `root` (paths relative). */
export function importEdges(root: string, dirs: readonly string[]): Edge[] {
  const edges: Edge[] = [];
  for (const dir of dirs) {
    const abs = join(root, dir);
    if (!existsSync(abs)) continue;
    for (const file of sourceFiles(abs)) {
      const src = stripComments(readFileSync(file, "utf8"));
      const specs = new Set<string>();
      for (const re of SPECIFIERS) for (const m of src.matchAll(re)) specs.add(m[1]);
      for (const spec of specs) {
        if (!spec.startsWith(".")) continue; // packages and path aliases
        const target = resolveRelative(file, spec);
        if (target) edges.push({ from: relative(root, file), to: relative(root, target) });
      }
    }
  }
  return edges;
}

const roleOf = (path: string) => ROLES.find((r) => path.startsWith(r.under));

/** `{ plugin, file }` for a path inside a plugin folder (`file` relative to the plugin). */
function pluginOf(path: string): { plugin: string; file: string } | null {
  for (const folder of PLUGIN_FOLDERS) {
    if (!path.startsWith(folder)) continue;
    const [plugin, ...rest] = path.slice(folder.length).split("/");
    if (rest.length > 0) return { plugin, file: rest.join("/") };
  }
  return null;
}

/** The edges that break the table's rules, minus the declared exceptions. */
export function violations(edges: readonly Edge[]): Violation[] {
  const found: Violation[] = [];
  for (const edge of edges) {
    if (`${edge.from} -> ${edge.to}` in ALLOWED_EXCEPTIONS) continue;
    const from = roleOf(edge.from);
    const to = roleOf(edge.to);
    if (from && to && from.mayNotImport.includes(to.role)) {
      found.push({ ...edge, reason: `${from.role} may not import ${to.role}` });
      continue;
    }
    const a = pluginOf(edge.from);
    const b = pluginOf(edge.to);
    if (a && b && a.plugin !== b.plugin) {
      const open = b.file === "index.ts" || (PUBLIC_FILES[b.plugin] ?? []).includes(b.file);
      if (!open)
        found.push({
          ...edge,
          reason: `plugin "${a.plugin}" reaches into "${b.plugin}" (only its index.ts or a declared public file)`,
        });
    }
  }
  return found;
}

const RAW_STORES = /\bctx\.stores\b|\{[^}]*\bstores\b[^}]*\}\s*=\s*(?:this\.)?ctx\b/;

/** Plugin files that use `ctx.stores` although their plugin is not in RAW_STORE_USERS. */
export function rawStoreUses(root: string, allowed: readonly string[]): string[] {
  const found: string[] = [];
  for (const folder of PLUGIN_FOLDERS) {
    const abs = join(root, folder);
    if (!existsSync(abs)) continue;
    for (const file of sourceFiles(abs)) {
      const path = relative(root, file);
      const owner = pluginOf(path);
      if (!owner || allowed.includes(owner.plugin)) continue;
      if (RAW_STORES.test(stripComments(readFileSync(file, "utf8")))) found.push(path);
    }
  }
  return found.sort();
}
