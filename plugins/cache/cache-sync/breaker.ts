import { StoreUnavailableError } from "../../../src/core/errors";

export type BreakerState = "closed" | "open" | "half-open";

export interface BreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long the circuit stays open before one probe is allowed. */
  cooldownMs: number;
  /**
   * Runs when the probe succeeds, before the circuit closes: repairs what Redis missed, so no
   * entry is trusted again until it is. A rejection keeps the circuit open.
   */
  probe: () => Promise<void>;
  /**
   * `cause` is set, on every transition until the circuit closes again, when the trip named why
   * or the probe failed on MongoDB (the store that failed is not always Redis).
   */
  onStateChange?: (state: BreakerState, cause?: string) => void;
}

/**
 * One breaker for every Redis call, so a dead or paused Redis costs one timeout, not one per
 * request. Hand-written rather than opossum: opossum guards one function and closes on any
 * success, whereas closing here must wait for an async repair pass.
 */
export class CircuitBreaker {
  private state: BreakerState = "closed";
  private failures = 0;
  private openedAt = 0;
  private probing: Promise<void> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private dirty = false;
  private cause: string | undefined;

  constructor(private readonly opts: BreakerOptions) {}

  get current(): BreakerState {
    return this.state;
  }

  /** True when a call may go to Redis now; starts the probe when the cooldown is over. */
  allows(): boolean {
    if (this.state === "closed") return true;
    if (this.state === "open" && Date.now() - this.openedAt >= this.opts.cooldownMs)
      this.startProbe();
    return false;
  }

  /**
   * `write: true` is for versioned writes (write-through, tombstones): they go to Redis in every
   * state. They are safe while the circuit is open or probing, and a write that skipped a
   * reachable Redis would leave a debt only this instance knows about while another instance,
   * whose circuit already closed, fills and serves the older version (two instances reconnecting
   * at different times after a Redis restart: the stale-read checker found it).
   */
  run<T>(fn: () => Promise<T>, opts?: { write?: boolean }): Promise<T> {
    if (this.state !== "closed" && !this.allows() && !opts?.write) {
      return Promise.reject(new StoreUnavailableError("redis"));
    }
    return fn().then(this.onSuccess, this.onFailure) as Promise<T>;
  }

  /** For callers that talk to the store themselves on a hot path (after `allows()`). */
  success(): void {
    this.failures = 0;
  }

  // Bound once: the hot path allocates no closure per call.
  private readonly onSuccess = <T>(out: T): T => {
    this.success();
    return out;
  };

  private readonly onFailure = (err: unknown): never => {
    this.failure();
    throw err;
  };

  failure(): void {
    if (this.state !== "closed") return;
    if (++this.failures >= this.opts.failureThreshold) this.trip();
  }

  /** Opens at once: after a failed write-through Redis may hold a stale entry. */
  trip(cause?: string): void {
    this.failures = 0;
    // A debt recorded while the probe repairs must be settled before closing: probe again.
    if (this.state === "half-open") {
      this.dirty = true;
      return;
    }
    // Already open: keep the original deadline, or steady writes would postpone the probe forever.
    if (this.state === "open") return;
    this.state = "open";
    this.openedAt = Date.now();
    this.cause = cause;
    this.opts.onStateChange?.("open", cause);
    this.schedule(this.opts.cooldownMs);
  }

  /** Stops the probe timer (shutdown). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Resolves when a probe in progress ends (tests and shutdown). */
  async settle(): Promise<void> {
    await this.probing;
  }

  /** Probe even when no request comes: stale entries must be repaired soon after Redis returns. */
  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.allows();
    }, ms);
    (this.timer as { unref?: () => void }).unref?.();
  }

  private startProbe(): void {
    if (this.probing) return;
    this.state = "half-open";
    this.opts.onStateChange?.("half-open", this.cause);
    this.dirty = false;
    const attempt = async (): Promise<void> => {
      await this.opts.probe();
      if (this.dirty) {
        this.dirty = false;
        return attempt();
      }
    };
    this.probing = attempt()
      .then(
        () => {
          this.state = "closed";
          this.failures = 0;
          this.opts.onStateChange?.("closed", this.cause);
          this.cause = undefined;
        },
        (err: unknown) => {
          this.state = "open";
          this.openedAt = Date.now();
          // The probe also settles repairs, which live in MongoDB: name it when it is what failed.
          this.cause =
            err instanceof StoreUnavailableError && err.store === "mongo"
              ? "MongoDB unavailable, cache repairs not settled"
              : undefined;
          this.opts.onStateChange?.("open", this.cause);
          this.schedule(this.opts.cooldownMs);
        },
      )
      .finally(() => {
        this.probing = null;
      });
  }
}
