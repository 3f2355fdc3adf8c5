import { z } from "zod";
import { envSchema } from "./config";

/** The README's generated configuration table sits between these two lines. */
export const TABLE_START =
  "<!-- config-table:start: generated from src/core/config.ts by `bun run docs:config` -->";
export const TABLE_END = "<!-- config-table:end -->";

/** The parts of a JSON Schema property the table shows (zod's own export of the env schema). */
interface Property {
  default?: unknown;
  description?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  format?: string;
}

type EnvSchema = z.ZodObject<z.ZodRawShape>;

/**
 * The schema as the environment sees it (`io: "input"`: strings before coercion and transforms),
 * so defaults and limits are read from the zod types rather than restated by hand.
 */
function properties(schema: EnvSchema): [string, Property][] {
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as {
    properties?: Record<string, Property>;
  };
  return Object.entries(json.properties ?? {});
}

/** Variables declared without `.describe()`: the table would have an empty cell for them. */
export function undescribedVariables(schema: EnvSchema = envSchema): string[] {
  return properties(schema)
    .filter(([, p]) => !p.description?.trim())
    .map(([name]) => name);
}

const code = (v: unknown) => `\`${String(v)}\``;
const cell = (s: string) => s.replaceAll("|", "\\|").replaceAll("\n", " ");

function allowed(p: Property): string {
  if (p.enum) return p.enum.map(code).join(" · ");
  if (p.minimum !== undefined && p.maximum !== undefined) return `${p.minimum} – ${p.maximum}`;
  if (p.minimum !== undefined) return `≥ ${p.minimum}`;
  if (p.maximum !== undefined) return `≤ ${p.maximum}`;
  if (p.minLength !== undefined) return `≥ ${p.minLength} characters`;
  if (p.format === "email") return "an email address";
  return "—";
}

/** The Markdown table: one row per variable, in schema order. */
export function configTable(schema: EnvSchema = envSchema): string {
  const rows = properties(schema).map(([name, p]) =>
    [
      code(name),
      p.default === undefined ? "unset" : code(p.default),
      allowed(p),
      p.description ?? "",
    ]
      .map(cell)
      .join(" | "),
  );
  return [
    "| variable | default | allowed | meaning |",
    "|---|---|---|---|",
    ...rows.map((r) => `| ${r} |`),
  ].join("\n");
}

/** The README with its generated block replaced by `table`; throws when a marker is missing. */
export function withConfigTable(readme: string, table: string = configTable()): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) {
    throw new Error(`README.md lacks the config-table markers:\n${TABLE_START}\n${TABLE_END}`);
  }
  return `${readme.slice(0, start + TABLE_START.length)}\n${table}\n${readme.slice(end)}`;
}
