import { Binary } from "bson";

/**
 * Deep copy of a BSON-shaped value. `structuredClone` would turn ObjectIds into plain objects,
 * so class instances are handled here: BSON value types are immutable and shared, Binary and
 * byte arrays are copied, anything else that is not a plain object or array is shared as is.
 */
export function deepClone<T>(value: T): T {
  return cloneValue(value) as T;
}

function cloneValue(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(cloneValue);
  if (value instanceof Date) return new Date(value.getTime());
  if (value instanceof Binary)
    return new Binary(Uint8Array.from(value.buffer.subarray(0, value.position)), value.sub_type);
  if (value instanceof Uint8Array) return value.slice();
  if (value instanceof RegExp) return new RegExp(value.source, value.flags);
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = cloneValue(v);
  return out;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
