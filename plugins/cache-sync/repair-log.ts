import type { CollectionPort, Doc, DocumentStore } from "../../src/core/ports/document-store";
import { CACHE_REPAIRS_COLLECTION } from "../../src/domain/user";

/** A user debt (`userId`, `emails`) or a plain versioned key (`key`, list-cache entries). */
export interface RepairEntry extends Doc {
  userId?: string;
  emails?: string[];
  key?: string;
  version: number;
  at: Date;
}

/**
 * Keys Redis could not take, kept in MongoDB (not in memory) so that a restart between the
 * outage and Redis's return loses nothing, and every instance sees every instance's debts.
 */
export class RepairLog {
  private readonly col: CollectionPort<RepairEntry>;

  constructor(db: DocumentStore) {
    this.col = db.collection<RepairEntry>(CACHE_REPAIRS_COLLECTION);
  }

  async record(userId: string, version: number, emails: readonly string[]): Promise<void> {
    await this.col.updateOne(
      { userId },
      {
        $max: { version },
        $addToSet: { emails: { $each: [...emails] } },
        $set: { at: new Date() },
      },
      { upsert: true },
    );
  }

  /** A plain key (no user, no email index) to tombstone at `version` when Redis is back. */
  async recordKey(key: string, version: number): Promise<void> {
    await this.col.updateOne(
      { key },
      { $max: { version }, $set: { at: new Date() } },
      { upsert: true },
    );
  }

  pending(limit: number): Promise<RepairEntry[]> {
    return this.col.find({}, { sort: { at: 1 }, limit });
  }

  /** Removes the entry only if no newer debt was recorded meanwhile. */
  async settle(entry: RepairEntry): Promise<void> {
    await this.col.deleteOne({ _id: entry._id, version: entry.version });
  }

  count(): Promise<number> {
    return this.col.countDocuments({});
  }
}
