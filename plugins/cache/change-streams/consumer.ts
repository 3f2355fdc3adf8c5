import type { PluginContext } from "../../../src/core/plugin";
import {
  type ChangeStreamHandle,
  ResumePositionLostError,
  type ResumeToken,
} from "../../../src/core/ports/document-store";
import type { ChangeApplier } from "./apply";
import type { StreamMetrics } from "./metrics";
import type { StreamPosition } from "./position";
import { NO_POSITION, type Reconciler } from "./reconcile";

export type StreamState =
  | "starting"
  | "standby"
  | "streaming"
  | "reconciling"
  | "retrying"
  | "stopped";

export interface ConsumerOptions {
  collections: readonly string[];
  /** How long one wait for events lasts (below the store timeout: it is a socket read). */
  maxAwaitMs: number;
  /** How soon the position is stored after events were applied. */
  saveEveryMs: number;
  /** How often the position is stored while nothing happens (keeps it inside the oplog window). */
  idleSaveEveryMs: number;
  /** Lease renewal period (a third of the lease). */
  renewEveryMs: number;
  /** Pause before retrying after a failure, and between tries for the lease on standby. */
  retryMs: number;
}

/** What /ready and the metrics report. */
export interface StreamStatus {
  state: StreamState;
  leader: boolean;
  lastEventAt: string | null;
  lastError: string | null;
}

/**
 * The one consumer of a deployment: holds the lease, opens the stream at the stored position,
 * applies each event, stores the position after applying (fenced by the lease), and on a lost
 * position reconciles before carrying on. Any failure closes the stream and starts again from
 * the stored position: events after it are applied again, which every applied action tolerates.
 */
export class StreamConsumer {
  readonly status: StreamStatus = {
    state: "starting",
    leader: false,
    lastEventAt: null,
    lastError: null,
  };
  private stopped = false;
  private handle: ChangeStreamHandle | null = null;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(
    private readonly ctx: PluginContext,
    private readonly position: StreamPosition,
    private readonly applier: ChangeApplier,
    private readonly reconciler: Reconciler,
    private readonly metrics: StreamMetrics,
    private readonly options: ConsumerOptions,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.handle?.close().catch(() => {});
    await this.loop?.catch(() => {});
    await this.position.release().catch(() => {});
    this.setState("stopped");
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (!(await this.lead())) {
          this.setState("standby");
          await this.sleep(this.options.retryMs);
          continue;
        }
        await this.consume();
      } catch (err) {
        await this.failed(err);
      }
    }
  }

  /** True while this instance holds the lease (taking it if it is free). */
  private async lead(): Promise<boolean> {
    const held = this.position.held || (await this.position.acquire());
    this.status.leader = held;
    this.metrics.leader.set(held ? 1 : 0);
    return held;
  }

  private async consume(): Promise<void> {
    const stored = await this.position.load();
    // No position yet: what was cached before this stream existed may predate outside writes.
    const handle = this.open(stored);
    // Opening first and reconciling after: changes during the reconcile are in the stream.
    if (!stored) await this.openThenReconcile(handle, NO_POSITION);
    this.setState("streaming");
    let lastSave = Date.now();
    let lastRenew = Date.now();
    let unsaved: ResumeToken | null = null;
    let savedJson = JSON.stringify(stored);
    let applied = 0;
    while (!this.stopped) {
      const event = await handle.next();
      if (event) {
        const action = await this.applier.apply(event);
        this.metrics.events.inc({ op: event.op, action });
        this.metrics.lag.observe(Math.max(0, Date.now() - event.committedAt.getTime()) / 1000);
        this.status.lastEventAt = new Date().toISOString();
        applied++;
      }
      unsaved = handle.resumeToken ?? unsaved;
      const now = Date.now();
      // Applied events: stored within saveEveryMs. Quiet: the post-batch token moves with every
      // write anywhere in the database (our own position writes included), so it is only kept
      // from ageing out of the oplog, every idleSaveEveryMs.
      const due =
        applied > 0
          ? now - lastSave >= this.options.saveEveryMs
          : now - lastSave >= this.options.idleSaveEveryMs;
      const json = unsaved ? JSON.stringify(unsaved) : savedJson;
      if (unsaved && due && json !== savedJson && (!event || applied > 0)) {
        if (!(await this.position.save(unsaved))) return this.deposed();
        savedJson = json;
        applied = 0;
        lastSave = now;
      }
      if (now - lastRenew >= this.options.renewEveryMs) {
        if (!(await this.position.renew())) return this.deposed();
        lastRenew = now;
      }
    }
    if (unsaved && JSON.stringify(unsaved) !== savedJson && !(await this.position.save(unsaved)))
      this.deposed();
  }

  private open(token: ResumeToken | null): ChangeStreamHandle {
    this.handle = this.ctx.stores.db.watch(this.options.collections, {
      resumeAfter: token ?? undefined,
      maxAwaitMs: this.options.maxAwaitMs,
    });
    return this.handle;
  }

  private async openThenReconcile(handle: ChangeStreamHandle, reason: string): Promise<void> {
    // The first wait opens the cursor on the server: from here on every change is in it.
    const first = await handle.next();
    if (first) {
      const action = await this.applier.apply(first);
      this.metrics.events.inc({ op: first.op, action });
    }
    this.setState("reconciling");
    await this.reconciler.run(reason, () => this.stopped);
    const token = handle.resumeToken;
    if (token && !(await this.position.save(token))) this.deposed();
  }

  private async failed(err: unknown): Promise<void> {
    await this.handle?.close().catch(() => {});
    this.handle = null;
    if (this.stopped) return;
    if (err instanceof ResumePositionLostError) {
      this.ctx.logger.warn({ err: err.message }, "change stream position lost; reconciling");
      this.status.lastError = err.message;
      await this.restartAfterLoss(err.message);
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    if (this.status.lastError !== message)
      this.ctx.logger.warn(
        { err: message },
        "change stream failed; retrying from the stored position",
      );
    this.status.lastError = message;
    this.metrics.failures.inc();
    this.setState("retrying");
    await this.sleep(this.options.retryMs);
  }

  /**
   * A fresh stream from now, a reconcile of everything cached, then that stream's position stored;
   * the loop then consumes from it.
   */
  private async restartAfterLoss(reason: string): Promise<void> {
    try {
      const handle = this.open(null);
      await this.openThenReconcile(handle, reason);
      await handle.close();
    } catch (err) {
      await this.failed(err);
    }
  }

  private deposed(): void {
    this.ctx.logger.warn("change stream lease lost to another instance; standing by");
    this.position.drop();
    this.status.leader = false;
    this.metrics.leader.set(0);
  }

  private setState(state: StreamState): void {
    this.status.state = state;
    this.metrics.setState(state);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
