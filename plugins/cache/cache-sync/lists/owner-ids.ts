import { ObjectId } from "bson";

const HEX24 = /^[0-9a-fA-F]{24}$/;

const isObjectId = (v: unknown): v is ObjectId =>
  v instanceof ObjectId ||
  (typeof v === "object" && v !== null && (v as { _bsontype?: unknown })._bsontype === "ObjectId");

/** The lower-case hex id of an ObjectId or a 24-hex string; null for anything else. */
export function idHex(v: unknown): string | null {
  if (isObjectId(v)) return v.toHexString();
  if (typeof v === "string" && HEX24.test(v)) return v.toLowerCase();
  return null;
}

/** Owner ids a filter names directly (equality or `$in`): covers upserts that insert. */
export function idsInFilter(filter: unknown, field: string): string[] {
  if (!filter || typeof filter !== "object") return [];
  const value = (filter as Record<string, unknown>)[field];
  const hex = idHex(value);
  if (hex !== null) return [hex];
  const $in = value && typeof value === "object" ? (value as { $in?: unknown }).$in : undefined;
  return Array.isArray($in) ? $in.map(idHex).filter((h): h is string => h !== null) : [];
}

/** Ids an update would give `field`: `$set` / `$setOnInsert` of it, or a replacement's value. */
export function idsInUpdate(update: unknown, field: string): string[] {
  if (!update || typeof update !== "object") return [];
  const u = update as Record<string, unknown>;
  const out: string[] = [];
  const push = (v: unknown) => {
    const hex = idHex(v);
    if (hex !== null) out.push(hex);
  };
  if (!isOperatorUpdate(u)) push(u[field]);
  for (const op of ["$set", "$setOnInsert"]) {
    const fields = u[op];
    if (fields && typeof fields === "object") push((fields as Record<string, unknown>)[field]);
  }
  return out;
}

const isOperatorUpdate = (u: Record<string, unknown>) =>
  Object.keys(u).some((k) => k.startsWith("$"));

/**
 * The top-level fields an update can change, or null when it may change any (a replacement).
 * `$rename` changes its targets too.
 */
export function touchedFields(update: unknown): Set<string> | null {
  if (!update || typeof update !== "object") return null;
  const u = update as Record<string, unknown>;
  if (!isOperatorUpdate(u)) return null;
  const out = new Set<string>();
  for (const [op, fields] of Object.entries(u)) {
    if (!fields || typeof fields !== "object") continue;
    for (const [path, value] of Object.entries(fields as Record<string, unknown>)) {
      out.add(path.split(".")[0] as string);
      if (op === "$rename" && typeof value === "string") out.add(value.split(".")[0] as string);
    }
  }
  return out;
}
