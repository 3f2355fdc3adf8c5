import type { CollectionPort, Doc, DocumentStore } from "../../../src/core/ports/document-store";

/** Cache keys Redis could not take during an outage, repaired when it returns. */
export const CACHE_REPAIRS_COLLECTION = "cache_repairs";

/**
 * One debt. A users entry keeps the first stage's shape (`userId`, `emails`), so instances of
 * both versions settle each other's debts during a rolling deploy; another collection's entry is
 * `collection`, `entryId` and its index keys; a plain versioned key (an owner list) is `key`.
 */
export interface RepairEntry extends Doc {
  userId?: string;
  emails?: string[];
  collection?: string;
  entryId?: string;
  index?: string[];
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

  /** A users debt: the entry and the email index keys. */
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

  /** A debt of any other declared collection: the entry and its index keys. */
  async recordEntry(
    collection: string,
    entryId: string,
    version: number,
    index: readonly string[],
  ): Promise<void> {
    await this.col.updateOne(
      { collection, entryId },
      { $max: { version }, $addToSet: { index: { $each: [...index] } }, $set: { at: new Date() } },
      { upsert: true },
    );
  }

  /** A plain key (no user, no email index) to empty at `version` when Redis is back. */
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
