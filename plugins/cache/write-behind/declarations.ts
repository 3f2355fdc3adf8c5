import { PluginError } from "../../../src/core/plugin";
import { LISTINGS_COLLECTION } from "../../features/listings";
import { USER_COLLECTION } from "../../features/users";

/**
 * Which fields of which collection go through the write-behind queue. Only high-rate fields whose
 * exact moment of arrival in MongoDB does not matter: counters (changes are summed) and "latest"
 * timestamps (the latest time wins). Never money, never a secret: refused at start-up.
 */
export interface WriteBehindSpec {
  collection: string;
  /** Integer counters: queued changes of one document are summed into one `$inc`-like step. */
  counters?: readonly string[];
  /** Timestamps, last writer wins: the latest of the queued times is kept (never moves back). */
  latest?: readonly string[];
}

/** The product's declarations (SPEC §8 "Write-behind"). */
export const DEFAULT_WRITE_BEHIND: readonly WriteBehindSpec[] = [
  { collection: USER_COLLECTION, latest: ["lastSeenAt"] },
  { collection: LISTINGS_COLLECTION, counters: ["viewCount"] },
];

/** A validated declaration. */
export interface Declared {
  collection: string;
  counters: readonly string[];
  latest: readonly string[];
}

/** Bookkeeping the flush keeps in each document (see overlay.ts); never shown to a client. */
export const BOOKKEEPING_FIELD = "_wb";

/** Fields the sync layer itself owns: a write-behind change would break its rules. */
const RESERVED = new Set(["_id", "id", "version", "updatedAt", "createdAt", BOOKKEEPING_FIELD]);
const FIELD = /^[A-Za-z][A-Za-z0-9_]*$/;

const refused = (message: string) => new PluginError("CS_ERR_WRITE_BEHIND_REFUSED", message);

/**
 * Checks the declarations once, at start-up: a money field (`wallet`, `wallet.*`), a sensitive
 * field or one the sync layer owns is refused with CS_ERR_WRITE_BEHIND_REFUSED naming it.
 */
export function declare(
  specs: readonly WriteBehindSpec[],
  sensitive: readonly string[],
): Map<string, Declared> {
  const hidden = new Set(sensitive);
  const out = new Map<string, Declared>();
  for (const spec of specs) {
    if (out.has(spec.collection))
      throw refused(`write-behind: "${spec.collection}" is declared twice`);
    const counters = [...(spec.counters ?? [])];
    const latest = [...(spec.latest ?? [])];
    const seen = new Set<string>();
    for (const field of [...counters, ...latest]) {
      const path = `${spec.collection}.${field}`;
      if (field === "wallet" || field.startsWith("wallet."))
        throw refused(
          `write-behind refused for ${path}: money fields are written through, atomically and exactly once, never queued`,
        );
      if (hidden.has(field.split(".")[0] as string))
        throw refused(`write-behind refused for ${path}: it is a sensitive field`);
      if (RESERVED.has(field))
        throw refused(`write-behind refused for ${path}: the sync layer owns that field`);
      if (!FIELD.test(field))
        throw refused(`write-behind refused for ${path}: only top-level plain field names`);
      if (seen.has(field)) throw refused(`write-behind: ${path} is declared twice`);
      seen.add(field);
    }
    if (seen.size === 0) throw refused(`write-behind: "${spec.collection}" declares no field`);
    out.set(spec.collection, { collection: spec.collection, counters, latest });
  }
  return out;
}

/** Refuses a declared field that its cached collection's declaration calls sensitive. */
export function refuseSensitive(spec: Declared, sensitive: readonly string[]): void {
  for (const field of [...spec.counters, ...spec.latest])
    if (sensitive.includes(field))
      throw refused(
        `write-behind refused for ${spec.collection}.${field}: it is a sensitive field`,
      );
}
