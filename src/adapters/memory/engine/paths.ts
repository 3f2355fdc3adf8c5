import type { Document } from "bson";
import { isPlainObject } from "./clone";
import { EngineError } from "./errors";
import { describeValue } from "./type-names";

/** Where a dotted update path lands in a document. */
export interface PathSlot {
  /** The object or array holding the last segment; absent when an intermediate is missing. */
  parent?: Record<string, unknown> | unknown[];
  key: string;
  value: unknown;
  exists: boolean;
  /** Set when an intermediate segment is a scalar: nothing can be created below it. */
  blockedBy?: { field: string; value: unknown };
}

/** True for a path without positional segments (`$`, `$[]`, `$[id]`): the engine resolves those itself. */
export function isPlainPath(path: string): boolean {
  return !path.split(".").some((part) => part.startsWith("$"));
}

/** Follows `path` without creating anything. */
export function locate(doc: Document, path: string): PathSlot {
  const parts = path.split(".");
  const key = parts[parts.length - 1] as string;
  let cur: unknown = doc;
  let curName = "";
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    if (Array.isArray(cur) && !/^\d+$/.test(part)) {
      return {
        key,
        value: undefined,
        exists: false,
        blockedBy: { field: part, value: { [curName]: cur } },
      };
    }
    if (i === parts.length - 1) break;
    const next = (cur as Record<string, unknown>)[part];
    if (next === undefined) return { key, value: undefined, exists: false };
    if (next === null || typeof next !== "object" || !isContainer(next)) {
      return {
        key,
        value: undefined,
        exists: false,
        blockedBy: { field: parts[i + 1] as string, value: { [part]: next } },
      };
    }
    cur = next;
    curName = part;
  }
  const parent = cur as Record<string, unknown> | unknown[];
  const value = (parent as Record<string, unknown>)[key];
  return { parent, key, value, exists: value !== undefined };
}

/** Writes `value` at `path`, creating missing intermediate objects (plain paths only). */
export function assignPath(doc: Document, path: string, value: unknown): void {
  const parts = path.split(".");
  let cur: Record<string, unknown> | unknown[] = doc;
  for (const part of parts.slice(0, -1)) {
    let next = (cur as Record<string, unknown>)[part];
    if (next === undefined || next === null) {
      next = {};
      (cur as Record<string, unknown>)[part] = next;
    }
    cur = next as Record<string, unknown>;
  }
  (cur as Record<string, unknown>)[parts[parts.length - 1] as string] = value;
}

/** The server's refusal to create a field below a scalar or inside an array by name. */
export function pathNotViable(blockedBy: { field: string; value: unknown }): EngineError {
  return new EngineError(
    28,
    "PathNotViable",
    `Cannot create field '${blockedBy.field}' in element ${describeValue(blockedBy.value)}`,
  );
}

function isContainer(value: object): boolean {
  return Array.isArray(value) || isPlainObject(value);
}
