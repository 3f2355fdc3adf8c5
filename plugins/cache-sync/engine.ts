import { ObjectId } from "bson";
import { StoreUnavailableError } from "../../src/core/errors";
import type { PluginContext } from "../../src/core/plugin";
import type { CacheStore } from "../../src/core/ports/cache-store";
import { type SanitizedUser, USER_COLLECTION, type UserDoc } from "../../src/domain/user";
import type { UserSanitizer } from "../sanitize";
import { CircuitBreaker } from "./breaker";
import { emailKey, userKey } from "./keys";
import { type CacheMetrics, cacheMetrics } from "./metrics";
import { allProtections, type ProtectionName, type Protections } from "./protections";
import { RepairLog } from "./repair-log";
import { SingleFlight } from "./single-flight";

/** Tombstone version for a deleted user: no fill may ever land while the marker lives. */
export const DELETED_VERSION = Number.MAX_SAFE_INTEGER;

const WRITE = { write: true } as const;

/**
 * What a write-through presents as its lease: it matches no fill's lease, so set-if-newer lands
 * it only over a live entry under the version rules — never into an absent key nor over a fill's
 * lease, where the write cannot tell that it carries the latest version.
 */
const WRITE_THROUGH_LEASE = "write-through";

/**
 * A fill's right to store: `token` when it holds a lease taken before its MongoDB read; `held`
 * false when it could not take one (the key was not empty): with leases on, it then stores
 * nothing. With leases switched off (a mutation test) fills go by versions alone.
 */
export interface FillLease {
  held: boolean;
  token?: string;
}

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
  readonly metrics: CacheMetrics;
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
    this.metrics = cacheMetrics(ctx.metrics);
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
        this.metrics.breakerState.set(BREAKER_GAUGE[state]);
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
   * Before a miss reads MongoDB: a lease in the empty key (SET NX), so the fill lands only if
   * nothing happened to the key since — a write-through, an invalidation or an eviction all take
   * the lease away, and with it any chance for a read that predates them to land (versions alone
   * cannot tell: DESIGN.md). Best effort like the fill itself.
   */
  async lease(id: string): Promise<FillLease> {
    const key = this.userKey(id);
    if (!this.switches.fillLeases) return { held: true };
    const token = `${this.instance}:${++this.leases}`;
    if (!this.breaker.allows()) return { held: false };
    const held = await this.breaker
      .run(() => this.cache.acquireFillLease(key, token, this.ctx.config.CACHE_MARKER_TTL_MS))
      .catch((err) => {
        this.redisError(err);
        return false;
      });
    return { held, token };
  }

  /**
   * Cache-aside fill: best effort, only under the lease taken before the MongoDB read.
   * "refused" means the key changed since the lease was taken: a write or invalidation won.
   */
  async fill(user: SanitizedUser, lease: FillLease): Promise<"stored" | "refused" | "skipped"> {
    if (!lease.held || !this.breaker.allows()) return "skipped";
    try {
      const ttl = this.ttl();
      const stored = await this.breaker.run(() =>
        this.storeVersioned(
          this.userKey(user.id),
          JSON.stringify(user),
          user.version,
          ttl,
          lease.token,
        ),
      );
      this.metrics.cacheFills.inc({ outcome: stored ? "stored" : "refused" });
      if (!stored) return "refused";
      await this.breaker.run(() => this.cache.set(this.emailKey(user.email), user.id, ttl));
      return "stored";
    } catch (err) {
      this.metrics.cacheFills.inc({ outcome: "error" });
      this.redisError(err);
      return "skipped";
    }
  }

  /**
   * After MongoDB acknowledged a write: the new version goes to Redis now (or, where there is no
   * older entry to move forward, the key is emptied and refilled from MongoDB). If Redis cannot
   * take it, the key is recorded durably and the breaker opens, so the older entry still in Redis
   * is not served again before it is repaired.
   */
  async writeThrough(user: SanitizedUser): Promise<void> {
    const end = this.metrics.writeThroughSeconds.startTimer();
    try {
      const ttl = this.ttl();
      const key = this.userKey(user.id);
      const json = JSON.stringify(user);
      const stored = await this.breaker.run(
        () => this.storeVersioned(key, json, user.version, ttl, WRITE_THROUGH_LEASE),
        WRITE,
      );
      const outcome = stored ? "stored" : await this.afterRefusedWrite(key, user);
      this.metrics.writeThroughs.inc({ outcome });
      void this.breaker
        .run(() => this.cache.set(this.emailKey(user.email), user.id, ttl), WRITE)
        .catch(() => undefined);
    } catch (err) {
      this.metrics.writeThroughs.inc({ outcome: "deferred" });
      await this.owe(user.id, user.version, [user.email], err);
    } finally {
      end();
    }
  }

  /** Empties the entry (see `drop`) and the email index keys. */
  async invalidate(id: string, version: number, emails: readonly string[]): Promise<void> {
    this.metrics.invalidations.inc();
    try {
      await this.breaker.run(() => this.drop(this.userKey(id), version), WRITE);
      if (emails.length)
        await this.breaker.run(() => this.cache.del(emails.map((e) => this.emailKey(e))), WRITE);
    } catch (err) {
      await this.owe(id, version, emails, err);
    }
  }

  /**
   * validate/sync: the entry rebuilt from MongoDB the way a miss fills it — emptied, leased, then
   * read — so a write acknowledged meanwhile is never overwritten by the document read here.
   * Rejects when Redis cannot take the reset.
   */
  async refresh(id: string): Promise<SanitizedUser | null> {
    const lease = await this.prepareRefresh(id);
    const doc = await this.rawUser(id);
    if (!doc) return null;
    const user = this.sanitize(doc);
    await this.fill(user, lease);
    return user;
  }

  /**
   * A write-through found no older live entry to move forward. A live entry at this version or
   * newer stays. Otherwise (absent, a fill's lease, a tombstone) this version may not be the
   * latest — a newer one may have been written through and evicted — so the key is emptied
   * (taking any fill's lease with it) and filled as a miss would: leased, then MongoDB's current
   * document.
   */
  private async afterRefusedWrite(key: string, user: SanitizedUser): Promise<"newer" | "refilled"> {
    const current = await this.breaker.run(() => this.cache.get(key), WRITE);
    if (current !== null && (JSON.parse(current) as SanitizedUser).version >= user.version)
      return "newer";
    await this.breaker.run(() => this.drop(key, user.version), WRITE);
    await this.refill(user.id);
    return "refilled";
  }

  /** Best effort: a failure leaves the key empty, which the next read fills. */
  private async refill(id: string): Promise<void> {
    try {
      const lease = await this.lease(id);
      if (!lease.held) return;
      const doc = await this.rawUser(id);
      if (doc) await this.fill(this.sanitize(doc), lease);
    } catch {
      // MongoDB down right after it took the write: the empty key is correct.
    }
  }

  /** The first half of `refresh`, for callers that read many documents at once (bulk sync). */
  async prepareRefresh(id: string): Promise<FillLease> {
    await this.breaker.run(() => this.cache.del([this.userKey(id)]));
    return this.lease(id);
  }

  /**
   * Settles every recorded debt: the entry emptied (list-cache keys: tombstoned) at the recorded
   * version, so the next read refills from
   * MongoDB). Talks to the store directly: it runs inside the breaker's probe.
   */
  async repairPending(): Promise<number> {
    let repaired = 0;
    for (;;) {
      const batch = await this.repairs.pending(500);
      if (batch.length === 0) return repaired;
      for (const entry of batch) {
        // A plain versioned key (list-cache: its own tombstone scheme) or a user debt.
        if (entry.key) await this.tombstone(entry.key, entry.version);
        else if (entry.userId) await this.drop(this.userKey(entry.userId), entry.version);
        if (entry.emails?.length) await this.cache.del(entry.emails.map((e) => this.emailKey(e)));
        await this.repairs.settle(entry);
        repaired++;
      }
      this.metrics.repairs.inc({ source: "outage" }, batch.length);
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

  /**
   * Empties a user entry. With fill leases, an absent key is the strongest marker there is:
   * nothing enters it but a fill that leased it before reading MongoDB. A tombstone would add a
   * version floor, and eviction can leave that floor behind the truth (an invalidation that read
   * version 5 landing after 6 was written and evicted), so a store trusting it could go back in
   * time. Tombstones stay for deleted users (their version, the largest there is, cannot fall
   * behind) and for the version-only scheme that runs when leases are switched off.
   */
  private async drop(key: string, version: number): Promise<void> {
    if (this.switches.fillLeases && version !== DELETED_VERSION) await this.cache.del([key]);
    else await this.tombstone(key, version);
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
    this.metrics.redisErrors.inc();
    if (!(err instanceof StoreUnavailableError)) this.ctx.logger.warn({ err }, "redis call failed");
  }
}
