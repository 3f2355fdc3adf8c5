import { ObjectId } from "bson";
import type { PluginContext } from "../../../src/core/plugin";
import type { Doc } from "../../../src/core/ports/document-store";
import type { StreamEntry } from "../../../src/core/ports/queue-store";
import { refreshCached } from "./cache-refresh";
import { type Coalesced, coalesce } from "./coalesce";
import type { Declared } from "./declarations";
import { CONSUMER_GROUP, idTime, OVERLAY_TTL_SECONDS, type WriteBehindKeys } from "./keys";
import type { WriteBehindMetrics } from "./metrics";
import { type FlushProtections, flushStatement } from "./statement";

export interface QueueStatus {
  depth: number;
  /** Age of the oldest unflushed change, seconds. */
  lagSeconds: number;
}

/**
 * Moves the queue into MongoDB, one instance at a time.
 *
 * Each round: take the flusher lease (SET NX PX, WRITE_BEHIND_CLAIM_IDLE_MS); finish the batch
 * this instance failed to flush last time, else take over a batch another instance read and never
 * acknowledged (XAUTOCLAIM, any idle time: see nextBatch), else read new entries
 * (XREADGROUP); fold them per document, write every document of a collection in one `bulkWrite`,
 * move their cache entries to the new version, then XACK + XDEL. Repeats while full batches
 * come, then releases the lease.
 *
 * Why one at a time, and a batch finished before the next is read: the per-document guard
 * (statement.ts) relies on a batch being retried exactly as it was first read, so at most one
 * batch may be unacknowledged deployment-wide. The lease outlives any round (a round gives up
 * before half of it has passed), so two flushers never overlap.
 */
export class Flusher {
  private readonly consumer = `${crypto.randomUUID().slice(0, 8)}`;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running: Promise<number> | null = null;
  /** The batch read but not yet acknowledged: retried as is. */
  private carried: StreamEntry[] | null = null;
  private stopped = false;
  private lastStatus: QueueStatus = { depth: 0, lagSeconds: 0 };
  /** The lease this instance holds (taken by a round whose release may not have reached Redis). */
  private held: { token: string; since: number } | null = null;

  constructor(
    private readonly ctx: PluginContext,
    private readonly declared: ReadonlyMap<string, Declared>,
    private readonly keys: WriteBehindKeys,
    private readonly metrics: WriteBehindMetrics,
    /** Off only in mutation tests (NODE_ENV=test). */
    private readonly protections: FlushProtections = { guard: true, versionBump: true },
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  /** Stops the timer, then one last round so a graceful shutdown leaves nothing behind. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => 0);
    await this.flushNow().catch((err: unknown) =>
      this.ctx.logger.warn({ err }, "write-behind: final flush failed; the queue keeps it"),
    );
  }

  /** One round now (tests, shutdown); concurrent callers share it. Resolves with entries flushed. */
  flushNow(): Promise<number> {
    this.running ??= this.round().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Queue depth and lag, as last measured (refreshed by every round and by `measure`). */
  get status(): QueueStatus {
    return this.lastStatus;
  }

  async measure(): Promise<QueueStatus> {
    const { length, oldestId } = await this.ctx.stores.cache.streamBacklog(this.keys.queue);
    const lagSeconds = oldestId ? Math.max(0, (Date.now() - idTime(oldestId)) / 1000) : 0;
    this.lastStatus = { depth: length, lagSeconds };
    this.metrics.depth.set(length);
    this.metrics.lag.set(lagSeconds);
    return this.lastStatus;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.flushNow()
        .catch((err: unknown) => {
          this.metrics.flushFailures.inc();
          this.ctx.logger.warn({ err }, "write-behind flush failed; retried next round");
        })
        .finally(() => this.schedule());
    }, this.ctx.config.WRITE_BEHIND_FLUSH_MS);
    this.timer.unref?.();
  }

  private async round(): Promise<number> {
    const { config } = this.ctx;
    const { cache } = this.ctx.stores;
    const leaseMs = config.WRITE_BEHIND_CLAIM_IDLE_MS;
    const lease = await this.takeLease(leaseMs);
    if (!lease) return 0;
    let flushed = 0;
    try {
      await cache.streamEnsureGroup(this.keys.queue, CONSUMER_GROUP);
      for (;;) {
        const batch = await this.nextBatch();
        if (batch.length === 0) break;
        // Past half the lease, another instance may soon take over: stop before writing.
        if (Date.now() - lease.since > leaseMs / 2) {
          this.carried = batch;
          break;
        }
        await this.flushBatch(batch);
        flushed += batch.length;
        if (batch.length < config.WRITE_BEHIND_BATCH_SIZE) break;
      }
    } finally {
      await cache
        .releaseLock(this.keys.lease, lease.token)
        .then(() => {
          this.held = null;
        })
        .catch(() => undefined);
      await this.measure().catch(() => undefined);
    }
    return flushed;
  }

  /**
   * The lease, newly taken, or still ours from a round whose release did not reach Redis (a
   * timeout under load): without this the instance would wait out its own lease.
   */
  private async takeLease(leaseMs: number): Promise<{ token: string; since: number } | null> {
    const { cache } = this.ctx.stores;
    const token = `${this.consumer}:${Date.now()}`;
    if (await cache.acquireLock(this.keys.lease, token, leaseMs)) {
      this.held = { token, since: Date.now() };
      return this.held;
    }
    if (this.held && (await cache.get(this.keys.lease)) === this.held.token) return this.held;
    this.held = null;
    return null;
  }

  private async nextBatch(): Promise<StreamEntry[]> {
    if (this.carried) return this.carried;
    const { config } = this.ctx;
    const { cache } = this.ctx.stores;
    const size = config.WRITE_BEHIND_BATCH_SIZE;
    // Any unacknowledged batch first, however recently it was read: the lease is the exclusion,
    // and a batch is idempotent (statement.ts), so taking over a live holder's batch is safe.
    // Waiting for it to go idle is not: new entries flushed meanwhile move each document's
    // applied stream id past that batch, which the guard then skips as applied (a batch lost
    // when the API was SIGKILLed mid-stream, test/write-behind/crash.test.ts).
    const orphaned = await cache.streamAutoClaim(
      this.keys.queue,
      CONSUMER_GROUP,
      this.consumer,
      0,
      size,
    );
    if (orphaned.length) {
      this.ctx.logger.info(
        { entries: orphaned.length },
        "write-behind: took over an unflushed batch",
      );
      return orphaned;
    }
    return cache.streamReadGroup(this.keys.queue, CONSUMER_GROUP, this.consumer, size);
  }

  private async flushBatch(batch: StreamEntry[]): Promise<void> {
    this.carried = batch;
    const end = this.metrics.flushSeconds.startTimer();
    const { docs } = coalesce(batch, this.declared);
    const byCollection = new Map<string, Coalesced[]>();
    for (const d of docs)
      byCollection.set(d.collection, [...(byCollection.get(d.collection) ?? []), d]);
    for (const [collection, list] of byCollection) await this.write(collection, list);
    await this.ctx.stores.cache.streamAckDelete(
      this.keys.queue,
      CONSUMER_GROUP,
      batch.map((e) => e.id),
    );
    this.carried = null;
    this.metrics.batchEntries.observe(batch.length);
    this.metrics.batchDocuments.observe(docs.length);
    end();
  }

  private async write(collection: string, docs: Coalesced[]): Promise<void> {
    const spec = this.declared.get(collection) as Declared;
    // The overlay's generation, creating the overlay if the change's own step has not run yet,
    // so that step then adds to the generation this flush recorded.
    const overlays = await Promise.all(
      docs.map((d) =>
        this.ctx.stores.cache.overlayAccumulate(
          this.keys.overlay(collection, d.id),
          {},
          {},
          OVERLAY_TTL_SECONDS,
        ),
      ),
    );
    const statements = docs.map((d, i) =>
      flushStatement(d, spec, overlays[i]?.gen ?? "", this.protections),
    );
    await this.ctx.stores.db.bulkUpdate(collection, statements);
    this.metrics.mongoWrites.inc({ kind: "bulk" });
    const written = await this.ctx.stores.db
      .collection<Doc>(collection)
      .find({ _id: { $in: docs.map((d) => new ObjectId(d.id)) } });
    await refreshCached(this.ctx, collection, written);
  }
}
