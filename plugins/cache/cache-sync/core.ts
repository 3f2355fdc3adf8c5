import { StoreUnavailableError } from "../../../src/core/errors";
import type { PluginContext } from "../../../src/core/plugin";
import type { CacheStore } from "../../../src/core/ports/cache-store";
import { CircuitBreaker } from "./breaker";
import { type CacheMetrics, cacheMetrics } from "./metrics";
import { allProtections, type ProtectionName, type Protections } from "./protections";
import { type RepairEntry, RepairLog } from "./repair-log";

/** Tombstone version for a deleted document: no fill may ever land while the marker lives. */
export const DELETED_VERSION = Number.MAX_SAFE_INTEGER;

const BREAKER_GAUGE = { closed: 0, "half-open": 1, open: 2 } as const;

const isMongoDown = (err: unknown) => err instanceof StoreUnavailableError && err.store === "mongo";

/** How the core settles a debt of one declared collection (its engine registers it). */
export interface DebtSettler {
  settle(entry: RepairEntry): Promise<void>;
}

/**
 * What every cached collection shares: one breaker for every Redis call, the durable repair log,
 * the protections (switchable only in tests), MongoDB's observed health and the versioned store
 * primitives (set-if-newer, drop, tombstone). Per-collection mechanics live in CollectionEngine.
 */
export class CacheCore {
  readonly breaker: CircuitBreaker;
  readonly repairs: RepairLog;
  readonly cache: CacheStore;
  readonly prefix: string;
  readonly metrics: CacheMetrics;
  private readonly switches: Protections = allProtections();
  private readonly settlers = new Map<string, DebtSettler>();
  private mongoDownUntil = 0;
  private readonly instance = crypto.randomUUID().slice(0, 8);
  private leases = 0;
  private mongoProbe: ReturnType<typeof setInterval> | null = null;

  constructor(readonly ctx: PluginContext) {
    this.cache = ctx.stores.cache;
    this.metrics = cacheMetrics(ctx.metrics);
    this.prefix = ctx.config.CACHE_PREFIX;
    this.repairs = new RepairLog(ctx.stores.db);
    this.breaker = new CircuitBreaker({
      failureThreshold: ctx.config.BREAKER_FAILURE_THRESHOLD,
      cooldownMs: ctx.config.BREAKER_COOLDOWN_MS,
      probe: async () => {
        await this.cache.ping();
        await this.repairPending();
      },
      onStateChange: (state, cause) => {
        this.metrics.breakerState.set(BREAKER_GAUGE[state]);
        ctx.logger[state === "closed" ? "info" : "warn"](
          { breaker: state, cause },
          !cause
            ? `redis circuit ${state}`
            : state === "closed"
              ? `cache circuit closed (it had opened: ${cause})`
              : `cache circuit ${state}: ${cause}`,
        );
      },
    });
  }

  /** Which protections are on (all of them, except in a mutation test). */
  get protections(): Readonly<Protections> {
    return this.switches;
  }

  /**
   * Mutation testing only: removes one protection (for every collection) so a test can show the
   * stale-read checker catches its absence. Refused outside NODE_ENV=test.
   */
  disableProtectionForTest(name: ProtectionName, off = true): void {
    if (this.ctx.config.NODE_ENV !== "test")
      throw new Error("protections can only be switched off in tests (NODE_ENV=test)");
    this.switches[name] = !off;
  }

  /** Registers who settles the debts recorded for `collection`. */
  settleWith(collection: string, settler: DebtSettler): void {
    this.settlers.set(collection, settler);
  }

  /** `base` minus up to CACHE_TTL_JITTER_PCT, so entries filled together do not expire together. */
  ttl(base: number): number {
    const jitter = Math.floor(base * (this.ctx.config.CACHE_TTL_JITTER_PCT / 100) * Math.random());
    return Math.max(1, base - jitter);
  }

  /** A lease token unique to this process. */
  leaseToken(): string {
    return `${this.instance}:${++this.leases}`;
  }

  /**
   * Set-if-newer (under `lease` for a fill; `carried`: the value's carried times, see
   * CarriedFields), or a plain SET when that protection is off.
   */
  async storeVersioned(
    key: string,
    value: string,
    version: number,
    ttl: number,
    lease?: string,
    carried?: Readonly<Record<string, string>>,
  ): Promise<boolean> {
    if (this.switches.versionedWrites)
      return this.cache.setIfNewer(
        key,
        value,
        version,
        ttl,
        lease,
        this.switches.carriedTimes ? carried : undefined,
      );
    await this.cache.set(key, value, ttl);
    return true;
  }

  /**
   * Empties an entry. With fill leases, an absent key is the strongest marker there is: nothing
   * enters it but a fill that leased it before reading MongoDB. A tombstone would add a version
   * floor, and eviction can leave that floor behind the truth (an invalidation that read version 5
   * landing after 6 was written and evicted), so a store trusting it could go back in time.
   * Tombstones stay for deleted documents (their version, the largest there is, cannot fall
   * behind) and for the version-only scheme that runs when leases are switched off.
   */
  async drop(key: string, version: number): Promise<void> {
    if (this.switches.fillLeases && version !== DELETED_VERSION) await this.cache.del([key]);
    else await this.tombstone(key, version);
  }

  /** A versioned tombstone, or a plain DEL when that protection is off. */
  async tombstone(key: string, version: number): Promise<void> {
    if (this.switches.tombstones)
      return this.cache.invalidateVersioned(key, version, this.ctx.config.CACHE_MARKER_TTL_MS);
    await this.cache.del([key]);
  }

  /**
   * Settles every recorded debt (the entry emptied at the recorded version, so the next read
   * refills from MongoDB). Talks to the store directly: it runs inside the breaker's probe.
   */
  async repairPending(): Promise<number> {
    if (!this.switches.repairDebts) return 0;
    let repaired = 0;
    for (;;) {
      const batch = await this.repairs.pending(500);
      if (batch.length === 0) return repaired;
      for (const entry of batch) {
        const settler = this.settlers.get(entry.userId ? "users" : (entry.collection ?? ""));
        if (settler) await settler.settle(entry);
        // A plain versioned key (an owner list): emptied like any entry.
        else if (entry.key) await this.drop(entry.key, entry.version);
        await this.repairs.settle(entry);
        repaired++;
      }
      this.metrics.repairs.inc({ source: "outage" }, batch.length);
      this.ctx.logger.info({ repaired: batch.length }, "repaired cache entries Redis missed");
    }
  }

  /**
   * A debt Redis could not take: recorded durably and the breaker opened, so the older entry
   * still in Redis is not served again before the probe repaired it.
   */
  async recordDebt(
    record: () => Promise<void>,
    err: unknown,
    about: Record<string, string>,
  ): Promise<void> {
    this.redisError(err);
    this.breaker.trip();
    try {
      await record();
      // Again once the debt is durable: a probe that finished meanwhile must not miss it.
      this.breaker.trip();
    } catch (recordErr) {
      // MongoDB took the write a moment ago; if it cannot take the debt now, say so loudly.
      this.ctx.logger.error({ err: recordErr, ...about }, "could not record a cache repair");
    }
  }

  /** A plain versioned key (an owner list) whose invalidation Redis did not take. */
  oweKey(key: string, version: number, err: unknown): Promise<void> {
    return this.recordDebt(() => this.repairs.recordKey(key, version), err, { key });
  }

  /** Tracks MongoDB health from real calls, so cache hits can be marked stale while it is down. */
  observeMongo<T>(p: Promise<T>): Promise<T> {
    return p.then(
      (v) => {
        this.mongoDownUntil = 0;
        return v;
      },
      (err) => {
        if (isMongoDown(err)) this.markMongoDown();
        throw err;
      },
    );
  }

  mongoDegraded(): boolean {
    // Read on every hit: no clock read while MongoDB was never seen down.
    return this.mongoDownUntil !== 0 && this.mongoDownUntil > Date.now();
  }

  close(): void {
    if (this.mongoProbe) clearInterval(this.mongoProbe);
    this.mongoProbe = null;
  }

  private markMongoDown(): void {
    this.mongoDownUntil = Date.now() + 60_000;
    if (this.mongoProbe) return;
    // Hits never touch MongoDB, so something must notice when it is back.
    this.mongoProbe = setInterval(() => {
      this.ctx.stores.db.ping().then(
        () => {
          this.mongoDownUntil = 0;
          this.close();
        },
        () => {
          this.mongoDownUntil = Date.now() + 60_000;
        },
      );
    }, 500);
    (this.mongoProbe as { unref?: () => void }).unref?.();
  }

  /** Counts a failed Redis call; logs it unless it is the expected "unavailable". */
  redisError(err: unknown): void {
    this.metrics.redisErrors.inc();
    if (!(err instanceof StoreUnavailableError)) this.ctx.logger.warn({ err }, "redis call failed");
  }
}
