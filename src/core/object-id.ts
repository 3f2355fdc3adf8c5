import { ObjectId } from "bson";

/**
 * The API's one id shape: an ObjectId as 24 lower-case hex digits, exactly what it emits.
 * Anything else is refused rather than normalised: an upper-case id once passed validation and
 * then acted on a different cache key than the one the same user is cached under.
 */
export const OBJECT_ID_HEX = /^[0-9a-f]{24}$/;

/** True for a canonical id (see OBJECT_ID_HEX); never throws on client input. */
export const isObjectIdHex = (v: unknown): v is string =>
  typeof v === "string" && OBJECT_ID_HEX.test(v);

/**
 * The one parser of ids from outside (requests, tokens, cache keys, stored references): the
 * ObjectId for a canonical id, an ObjectId as is, null for anything else; never throws.
 */
export function parseObjectId(v: unknown): ObjectId | null {
  if (v instanceof ObjectId) return v;
  return isObjectIdHex(v) ? new ObjectId(v) : null;
}
