import { createHash } from "node:crypto";
import { Binary, type Document } from "bson";

/** The user id of an unauthenticated session: SHA-256 of the empty user name, as mongod. */
const NO_USER = new Binary(createHash("sha256").update("").digest());

/**
 * The logical sessions this server has seen, as mongod's session cache lists them to
 * `$listLocalSessions`. Sessions change nothing else here: there are no transactions.
 */
export class SessionCache {
  private readonly seen = new Map<string, { id: Binary; lastUse: Date }>();

  touch(lsid: unknown): void {
    const id = (lsid as { id?: unknown } | undefined)?.id;
    if (!(id instanceof Binary)) return;
    this.seen.set(id.toString("hex"), { id, lastUse: new Date() });
  }

  list(): Document[] {
    return [...this.seen.values()].map((s) => ({
      _id: { id: s.id, uid: NO_USER },
      lastUse: s.lastUse,
    }));
  }
}
