import type { PluginContext } from "../../../src/core/plugin";
import type { BusMessage } from "../../../src/core/ports/event-bus";
import { subscribeWithRetry } from "../../operations/observatory/feed";
import type { CachedDoc } from "../cache-sync/collection";
import { compareIds } from "./feed-id";
import type { NearMetrics } from "./metrics";
import type { NearStore } from "./store";

export interface NearFeedOptions {
  heartbeatMs: number;
  /** No heartbeat received for this long: the feed is unhealthy and every near cache bypassed. */
  timeoutMs: number;
}

/**
 * One feed entry: document `id` of the topic's collection is at version `v` now; with `p`, it
 * changed in place at the version it has (a raised carried time), so every copy is dropped.
 */
export interface Change {
  id: string;
  v: number;
  p?: 1;
}

const CATCH_UP_BATCH = 1000;

/**
 * The change feed behind the near caches: one bus topic (a Redis Stream + pub/sub) per near-cached
 * collection, written by every instance before a write answers, plus a heartbeat topic. Each
 * instance remembers the last stream id it applied per collection; when heartbeats stop (a
 * disconnect, a dead subscription) every near cache is bypassed, and when they come back the
 * instance reads forward from that id before serving again — or, if the stream was trimmed past
 * it, drops that collection's near cache.
 */
export class NearFeed {
  private readonly lastId = new Map<string, string>();
  private lastBeat = 0;
  private lost = false;
  private catchingUp = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly stops: (() => Promise<void>)[] = [];
  private readonly me = crypto.randomUUID().slice(0, 8);

  constructor(
    private readonly ctx: PluginContext,
    private readonly stores: ReadonlyMap<string, NearStore<CachedDoc>>,
    private readonly opts: NearFeedOptions,
    private readonly metrics: NearMetrics,
  ) {}

  private topic(collection: string): string {
    return `${this.ctx.config.CACHE_PREFIX}near:${collection}`;
  }

  /** True while heartbeats arrive and no catch-up is pending. */
  readonly healthy = (): boolean =>
    !this.lost && performance.now() - this.lastBeat < this.opts.timeoutMs;

  /** Publishes a write's new versions (applied here at once: this instance reads its own writes). */
  async publish(collection: string, changes: readonly Change[]): Promise<void> {
    const store = this.stores.get(collection);
    for (const c of changes) store?.apply(c.id, c.v, c.p === 1);
    await Promise.all(
      changes.map((c) =>
        this.ctx.bus.publish(this.topic(collection), JSON.stringify(c)).catch((err: unknown) => {
          this.metrics.publishFailures.inc({ collection });
          this.ctx.logger.warn(
            { err, collection, id: c.id },
            "near-cache feed entry not published",
          );
        }),
      ),
    );
  }

  start(): void {
    for (const collection of this.stores.keys())
      this.stops.push(
        subscribeWithRetry(
          this.ctx,
          this.topic(collection),
          (msg) => this.onChange(collection, msg),
          "near cache",
        ),
      );
    this.stops.push(
      subscribeWithRetry(this.ctx, this.topic("-heartbeat"), () => this.onBeat(), "near cache"),
    );
    this.timer = setInterval(() => this.tick(), this.opts.heartbeatMs);
    (this.timer as { unref?: () => void }).unref?.();
    this.tick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.all(this.stops.map((s) => s()));
  }

  private tick(): void {
    this.ctx.bus.publish(this.topic("-heartbeat"), this.me).catch(() => undefined);
    if (this.lastBeat > 0 && !this.lost && !this.healthy()) {
      this.lost = true;
      this.metrics.feedHealthy.set(0);
      this.ctx.logger.warn("near cache: feed heartbeats stopped, near caches bypassed");
    }
  }

  private onBeat(): void {
    this.lastBeat = performance.now();
    if (this.lost) void this.catchUp();
    else this.metrics.feedHealthy.set(1);
  }

  private onChange(collection: string, msg: BusMessage): void {
    let change: Change;
    try {
      change = JSON.parse(msg.payload) as Change;
    } catch {
      return;
    }
    this.apply(collection, msg.id, change);
  }

  private apply(collection: string, id: string, change: Change): void {
    if (typeof change.id !== "string" || typeof change.v !== "number") return;
    this.stores.get(collection)?.apply(change.id, change.v, change.p === 1);
    const last = this.lastId.get(collection);
    if (!last || compareIds(id, last) > 0) this.lastId.set(collection, id);
  }

  /** Reads every collection's feed forward from its last applied id, then serves again. */
  private async catchUp(): Promise<void> {
    if (this.catchingUp) return;
    this.catchingUp = true;
    try {
      for (const [collection, store] of this.stores) {
        const topic = this.topic(collection);
        const last = this.lastId.get(collection);
        // Never applied anything: no position to read from, so nothing here can be trusted.
        if (!last) {
          store.clear();
          this.metrics.drops.inc({ collection, reason: "no-position" });
          continue;
        }
        const oldest = (await this.ctx.bus.since(topic, "0-0", 1))[0];
        if (oldest && compareIds(oldest.id, last) > 0) {
          store.clear();
          this.metrics.drops.inc({ collection, reason: "trimmed" });
          this.ctx.logger.warn(
            { collection },
            "near cache: feed trimmed past our position, dropped",
          );
          continue;
        }
        for (let from = last; ; ) {
          const batch = await this.ctx.bus.since(topic, from, CATCH_UP_BATCH);
          for (const m of batch) this.onChange(collection, m);
          this.metrics.replayed.inc({ collection }, batch.length);
          if (batch.length < CATCH_UP_BATCH) break;
          from = (batch[batch.length - 1] as BusMessage).id;
        }
      }
      this.lost = false;
      this.metrics.feedHealthy.set(1);
      this.ctx.logger.info("near cache: feed caught up, near caches serving again");
    } catch (err) {
      // Still lost: the next heartbeat tries again.
      this.ctx.logger.warn({ err }, "near cache: feed catch-up failed");
    } finally {
      this.catchingUp = false;
    }
  }
}
