import { ObjectId } from "bson";
import { StoreUnavailableError } from "../../src/core/errors";
import type { PluginContext } from "../../src/core/plugin";
import type { CacheStore } from "../../src/core/ports/cache-store";
import { type SanitizedUser, USER_COLLECTION, type UserDoc } from "../../src/domain/user";
import type { UserSanitizer } from "../sanitize";
import { CircuitBreaker } from "./breaker";
import { emailKey, userKey } from "./keys";
import { allProtections, type ProtectionName, type Protections } from "./protections";
import { RepairLog } from "./repair-log";
import { SingleFlight } from "./single-flight";

/** Tombstone version for a deleted user: no fill may ever land while the marker lives. */
export const DELETED_VERSION = Number.MAX_SAFE_INTEGER;

const WRITE = { write: true } as const;
const BREAKER_GAUGE = { closed: 0, "half-open": 1, open: 2 } as const;

const isMongoDown = (err: unknown) => err instanceof StoreUnavailableError && err.store === "mongo";

/**
 * The mechanism shared by the cache-aside, write-through and admin paths: versioned cache
 * writes, tombstones, the breaker, the durable repair log and per-user single flight.
 * Nothing here knows about HTTP.
 */
export class CacheEngine {
  readonly breaker: CircuitBreaker;
  readonly repairs: RepairLog;
  private readonly switches: Protections = allProtections();
  readonly flights = new SingleFlight<SanitizedUser | null>(() => this.switches.singleFlightRule);
  private readonly cache: CacheStore;
  private readonly prefix: string;
  private mongoDownUntil = 0;
  private readonly instance = crypto.randomUUID().slice(0, 8);
  private leases = 0;
  private mongoProbe: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly ctx: PluginContext,
    readonly sanitize: UserSanitizer,
  ) {
    this.cache = ctx.cache;
    this.prefix = ctx.config.CACHE_PREFIX;
    this.repairs = new RepairLog(ctx.db);
    this.breaker = new CircuitBreaker({
      failureThreshold: ctx.config.BREAKER_FAILURE_THRESHOLD,
      cooldownMs: ctx.config.BREAKER_COOLDOWN_MS,
      probe: async () => {
        await this.cache.ping();
        await this.repairPending();
      },
      onStateChange: (state, cause) => {
        ctx.metrics.breakerState.set(BREAKER_GAUGE[state]);
        ctx.logger[state === "closed" ? "info" : "warn"](
          { breaker: state, cause },
          cause ? `cache circuit ${state}: ${cause}` : `redis circuit ${state}`,
        );
      },
    });
  }

  /** Which protections are on (all of them, except in a mutation test). */
  get protections(): Readonly<Protections> {
    return this.switches;
  }

  /**
   * Mutation testing only: removes one protection so a test can show the stale-read checker
   * catches its absence. Refused outside NODE_ENV=test; nothing in the configuration calls it.
   */
  disableProtectionForTest(name: ProtectionName, off = true): void {
    if (this.ctx.config.NODE_ENV !== "test")
      throw new Error("protections can only be switched off in tests (NODE_ENV=test)");
    this.switches[name] = !off;
  }

  userKey(id: string): string {
    return userKey(this.prefix, id);
  }

  emailKey(email: string): string {
    return emailKey(this.prefix, email);
  }

  /** TTL minus up to CACHE_TTL_JITTER_PCT, so entries filled together do not expire together. */
  ttl(): number {
    const base = this.ctx.config.CACHE_TTL_SECONDS;
    const jitter = Math.floor(base * (this.ctx.config.CACHE_TTL_JITTER_PCT / 100) * Math.random());
    return Math.max(1, base - jitter);
  }

  /** Cached user or null (miss, tombstone, or Redis failing: the caller falls back to MongoDB). */
  getCached(id: string): Promise<SanitizedUser | null> {
    if (!this.breaker.allows()) return Promise.resolve(null);
    // breaker.run inlined: one promise hop instead of three on every hit.
    return this.cache.get(this.userKey(id)).then(this.readDone, this.readFailed);
  }

  private readonly readDone = (raw: string | null): SanitizedUser | null => {
    this.breaker.success();
    return raw === null ? null : (JSON.parse(raw) as SanitizedUser);
  };

  private readonly readFailed = (err: unknown): null => {
    this.breaker.failure();
    this.redisError(err);
    return null;
  };

  async getCachedIdByEmail(email: string): Promise<string | null> {
    try {
      return await this.breaker.run(() => this.cache.get(this.emailKey(email)));
    } catch (err) {
      this.redisError(err);
      return null;
    }
  }

  /**
   * Before a miss reads MongoDB: a lease in the (absent) key, so the fill can tell "still mine"
   * from "a newer entry was written and then evicted" (versions alone cannot: DESIGN.md). Returns
   * the token the fill must present; best effort like the fill itself.
   */
  async lease(id: string): Promise<string | undefined> {
    if (!this.switches.fillLeases) return undefined;
    const token = `${this.instance}:${++this.leases}`;
    if (!this.breaker.allows()) return token;
    await this.breaker
      .run(() =>
        this.cache.acquireFillLease(this.userKey(id), token, this.ctx.config.CACHE_MARKER_TTL_MS),
      )
      .catch((err) => this.redisError(err));
    return token;
  }

  /**
   * Cache-aside fill: best effort, only ever moves the entry forward, only under its lease.
   * "refused" means Redis already holds something the fill may not replace: a newer write won.
   */
  async fill(user: SanitizedUser, lease?: string): Promise<"stored" | "refused" | "skipped"> {
    if (!this.breaker.allows()) return "skipped";
    try {
      const ttl = this.ttl();
      const stored = await this.breaker.run(() =>
        this.storeVersioned(this.userKey(user.id), JSON.stringify(user), user.version, ttl, lease),
      );
      this.ctx.metrics.cacheFills.inc({ outcome: stored ? "stored" : "refused" });
      if (!stored) return "refused";
      await this.breaker.run(() => this.cache.set(this.emailKey(user.email), user.id, ttl));
      return "stored";
    } catch (err) {
      this.ctx.metrics.cacheFills.inc({ outcome: "error" });
      this.redisError(err);
      return "skipped";
    }
  }

  /**
   * After MongoDB acknowledged a write: the new version goes to Redis now. If Redis cannot take
   * it, the key is recorded durably and the breaker opens, so the older entry still in Redis is
   * not served again before it is repaired.
   */
  async writeThrough(user: SanitizedUser): Promise<void> {
    const end = this.ctx.metrics.writeThroughSeconds.startTimer();
    try {
      const ttl = this.ttl();
      await this.breaker.run(
        () => this.storeVersioned(this.userKey(user.id), JSON.stringify(user), user.version, ttl),
        WRITE,
      );
      this.ctx.metrics.writeThroughs.inc({ outcome: "stored" });
      void this.breaker
        .run(() => this.cache.set(this.emailKey(user.email), user.id, ttl), WRITE)
        .catch(() => undefined);
    } catch (err) {
      this.ctx.metrics.writeThroughs.inc({ outcome: "deferred" });
      await this.owe(user.id, user.version, [user.email], err);
    } finally {
      end();
    }
  }

  /** Leaves a versioned tombstone (never a bare DEL) and drops the email index keys. */
  async invalidate(id: string, version: number, emails: readonly string[]): Promise<void> {
    this.ctx.metrics.invalidations.inc();
    try {
      await this.breaker.run(() => this.tombstone(this.userKey(id), version), WRITE);
      if (emails.length)
        await this.breaker.run(() => this.cache.del(emails.map((e) => this.emailKey(e))), WRITE);
    } catch (err) {
      await this.owe(id, version, emails, err);
    }
  }

  /** Forces the entry to MongoDB's document even when a same-version tampered entry sits there. */
  async rebuild(user: SanitizedUser): Promise<void> {
    const key = this.userKey(user.id);
    const ttl = this.ttl();
    await this.breaker.run(() => this.tombstone(key, user.version));
    await this.breaker.run(() => this.storeVersioned(key, JSON.stringify(user), user.version, ttl));
    await this.breaker.run(() => this.cache.set(this.emailKey(user.email), user.id, ttl));
  }

  /**
   * Settles every recorded debt: tombstone at the recorded version (the next read refills from
   * MongoDB). Talks to the store directly: it runs inside the breaker's probe.
   */
  async repairPending(): Promise<number> {
    let repaired = 0;
    for (;;) {
      const batch = await this.repairs.pending(500);
      if (batch.length === 0) return repaired;
      for (const entry of batch) {
        // A user debt (write-through or invalidation) or a plain versioned key (list-cache).
        const key = entry.key ?? (entry.userId ? this.userKey(entry.userId) : null);
        if (key) await this.tombstone(key, entry.version);
        if (entry.emails?.length) await this.cache.del(entry.emails.map((e) => this.emailKey(e)));
        await this.repairs.settle(entry);
        repaired++;
      }
      this.ctx.metrics.repairs.inc({ source: "outage" }, batch.length);
      this.ctx.logger.info({ repaired: batch.length }, "repaired cache entries Redis missed");
    }
  }

  /** Set-if-newer (under `lease` for a fill), or a plain SET when that protection is off. */
  private async storeVersioned(
    key: string,
    value: string,
    version: number,
    ttl: number,
    lease?: string,
  ): Promise<boolean> {
    if (this.switches.versionedWrites)
      return this.cache.setIfNewer(key, value, version, ttl, lease);
    await this.cache.set(key, value, ttl);
    return true;
  }

  /** A versioned tombstone, or a plain DEL when that protection is off. */
  private async tombstone(key: string, version: number): Promise<void> {
    if (this.switches.tombstones)
      return this.cache.invalidateVersioned(key, version, this.ctx.config.CACHE_MARKER_TTL_MS);
    await this.cache.del([key]);
  }

  /** Raw MongoDB document (secrets included): never returned to a caller as is. */
  rawUser(id: string): Promise<UserDoc | null> {
    if (!ObjectId.isValid(id) || id.length !== 24) return Promise.resolve(null);
    return this.observeMongo(
      this.ctx.db.collection<UserDoc>(USER_COLLECTION).findOne({ _id: new ObjectId(id) }),
    );
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
    return this.mongoDownUntil > Date.now();
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
      this.ctx.db.ping().then(
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

  /**
   * A plain versioned key (list-cache) whose tombstone Redis did not take: recorded durably and
   * tombstoned by the probe, like a user debt, before reads trust Redis again.
   */
  oweKey(key: string, version: number, err: unknown): Promise<void> {
    return this.recordDebt(() => this.repairs.recordKey(key, version), err, { key });
  }

  private owe(id: string, version: number, emails: readonly string[], err: unknown): Promise<void> {
    return this.recordDebt(() => this.repairs.record(id, version, emails), err, { userId: id });
  }

  private async recordDebt(
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

  /** Counts a failed Redis call; logs it unless it is the expected "unavailable". */
  redisError(err: unknown): void {
    this.ctx.metrics.redisErrors.inc();
    if (!(err instanceof StoreUnavailableError)) this.ctx.logger.warn({ err }, "redis call failed");
  }
}
