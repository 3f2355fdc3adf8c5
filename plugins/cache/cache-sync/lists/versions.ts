import { DuplicateKeyError } from "../../../../src/core/errors";
import type { CollectionPort, DocumentStore } from "../../../../src/core/ports/document-store";

/** One counter document per (list, owner): `{ _id: "<list>:<owner>", v }`. */
export const LIST_VERSIONS_COLLECTION = "listVersions";

/**
 * The lists' versions, held by MongoDB (never a clock): a per-(list, owner) counter every write
 * to a member bumps after MongoDB took the write. A fill that read the counter before its query
 * saw every write whose bump is at or below the value it read; every later write bumps above it.
 */
export class ListVersions {
  private readonly col: CollectionPort;

  constructor(db: DocumentStore) {
    this.col = db.collection(LIST_VERSIONS_COLLECTION);
  }

  async read(list: string, owner: string): Promise<number> {
    return numeric((await this.col.findOne({ _id: id(list, owner) }))?.v);
  }

  /** `$inc` with upsert; the new value. */
  async bump(list: string, owner: string): Promise<number> {
    const inc = () =>
      this.col.findOneAndUpdate(
        { _id: id(list, owner) },
        { $inc: { v: 1 } },
        { upsert: true, returnDocument: "after" },
      );
    // Two first bumps racing on one upsert: one inserts, the other retries as an update.
    const doc = await inc().catch((err: unknown) => {
      if (err instanceof DuplicateKeyError) return inc();
      throw err;
    });
    return numeric(doc?.v);
  }
}

const id = (list: string, owner: string) => `${list}:${owner}`;
const numeric = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
