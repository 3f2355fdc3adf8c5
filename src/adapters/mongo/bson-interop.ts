import { type Document, deserialize, ObjectId, serialize } from "bson";

/**
 * The driver is CommonJS and loads bson's CJS build, while our ES modules get its ESM build:
 * two `ObjectId` classes, so `doc._id instanceof ObjectId` (imported from "bson", as the port
 * declares) fails on what the driver returns. Going in needs nothing (both builds serialize each
 * other's values); coming out, BSON values are rebuilt with the ESM classes.
 */
export function toPortBson<T>(value: T): T {
  return convert(value) as T;
}

function convert(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(convert);
  if (value instanceof Date) return value;
  const bsontype = (value as { _bsontype?: unknown })._bsontype;
  if (typeof bsontype === "string") {
    if (value instanceof ObjectId) return value;
    if (bsontype === "ObjectId") return new ObjectId((value as { id: Uint8Array }).id);
    return (
      deserialize(serialize({ v: value as Document }), { promoteValues: false }) as { v: unknown }
    ).v;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = convert(v);
  return out;
}
