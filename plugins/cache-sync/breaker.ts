import { StoreUnavailableError } from "../../src/core/errors";

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
  onStateChange?: (state: BreakerState) => void;
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

  constructor(private readonly opts: BreakerOptions) {}

  get current(): BreakerState {
    return this.state;
  }

  /** True when a call may go to Redis now; starts the probe when the cooldown is over. */
  allows(): boolean {
    if (this.state === "closed") return true;
    if (this.state === "open" && Date.now() - this.openedAt >= this.opts.cooldownMs) this.startProbe();
    return false;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.allows()) throw new StoreUnavailableError("redis");
    try {
      const out = await fn();
      this.failures = 0;
      return out;
    } catch (err) {
      this.failure();
      throw err;
    }
  }

  failure(): void {
    if (this.state !== "closed") return;
    if (++this.failures >= this.opts.failureThreshold) this.trip();
  }

  /** Opens at once: after a failed write-through Redis may hold a stale entry. */
  trip(): void {
    this.failures = 0;
    this.openedAt = Date.now();
    if (this.state !== "open") {
      this.state = "open";
      this.opts.onStateChange?.("open");
    }
    // Probe even when no request comes: stale entries must be repaired soon after Redis returns.
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.allows();
    }, this.opts.cooldownMs);
    (this.timer as { unref?: () => void }).unref?.();
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

  private startProbe(): void {
    if (this.probing) return;
    this.state = "half-open";
    this.opts.onStateChange?.("half-open");
    this.probing = this.opts
      .probe()
      .then(
        () => {
          this.state = "closed";
          this.failures = 0;
          this.opts.onStateChange?.("closed");
        },
        () => {
          this.state = "closed"; // let trip() emit the transition
          this.trip();
        },
      )
      .finally(() => {
        this.probing = null;
      });
  }
}
