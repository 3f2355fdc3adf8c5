import { DuplicateKeyError } from "../../../src/core/errors";
import type { Doc, DocumentStore, ResumeToken } from "../../../src/core/ports/document-store";

/** Where every instance keeps the stream position and the consumer lease (one document per stream). */
export const POSITION_COLLECTION = "cachesync_change_streams";

interface PositionDoc {
  _id: string;
  token?: ResumeToken;
  owner?: string;
  /** Incremented by every acquisition: a position write carries it, so a deposed owner's fails. */
  fence?: number;
  leaseUntil?: Date;
  savedAt?: Date;
}

/**
 * The durable stream position and the single-consumer lease, both in MongoDB (the store that
 * outlives every instance). Every write after acquiring is fenced by `(owner, fence)`: an
 * instance that was paused past its lease and woke up cannot move the position any more.
 */
export class StreamPosition {
  private fence: number | null = null;

  constructor(
    private readonly db: DocumentStore,
    private readonly name: string,
    readonly owner: string,
    private readonly leaseMs: number,
    /**
     * Test only (a mutation test shows the fence check failing without it): position writes
     * then go by the document's id alone, as if no other instance could hold the lease.
     */
    private readonly fencing = true,
  ) {}

  private get coll() {
    return this.db.collection<Doc>(POSITION_COLLECTION);
  }

  get held(): boolean {
    return this.fence !== null;
  }

  /** Takes the lease if it is free, expired, or already ours. */
  async acquire(): Promise<boolean> {
    const now = new Date();
    try {
      const doc = (await this.coll.findOneAndUpdate(
        {
          _id: this.name,
          $or: [
            { owner: this.owner },
            { leaseUntil: { $lt: now } },
            { leaseUntil: { $exists: false } },
          ],
        },
        {
          $set: { owner: this.owner, leaseUntil: new Date(now.getTime() + this.leaseMs) },
          $inc: { fence: 1 },
        },
        { upsert: true, returnDocument: "after" },
      )) as unknown as PositionDoc | null;
      this.fence = doc?.fence ?? null;
      return this.fence !== null;
    } catch (err) {
      // The document exists and another live owner holds it: the upsert collided on _id.
      if (err instanceof DuplicateKeyError) return false;
      throw err;
    }
  }

  /** Extends the lease; false when it was lost (taken over after expiring). */
  async renew(): Promise<boolean> {
    return this.fenced({ leaseUntil: new Date(Date.now() + this.leaseMs) });
  }

  /** The stored position, if any. */
  async load(): Promise<ResumeToken | null> {
    const doc = (await this.coll.findOne({ _id: this.name })) as unknown as PositionDoc | null;
    return doc?.token ?? null;
  }

  /** Stores the position (after the events before it were applied); false when the lease is lost. */
  save(token: ResumeToken): Promise<boolean> {
    return this.fenced({ token, savedAt: new Date() });
  }

  /** Gives the lease up at once (graceful shutdown), so another instance takes over without waiting. */
  async release(): Promise<void> {
    if (this.fence === null) return;
    await this.fenced({ leaseUntil: new Date(0) });
    this.fence = null;
  }

  /** Forgets the lease locally (after a failed fenced write). */
  drop(): void {
    this.fence = null;
  }

  private async fenced(set: Record<string, unknown>): Promise<boolean> {
    if (this.fence === null) return false;
    const res = await this.coll.updateOne(
      this.fencing ? { _id: this.name, owner: this.owner, fence: this.fence } : { _id: this.name },
      { $set: set },
    );
    if (res.matchedCount === 0) this.fence = null;
    return res.matchedCount === 1;
  }
}
