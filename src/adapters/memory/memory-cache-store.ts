import { StoreUnavailableError } from "../../core/errors";
import type { CacheStore } from "../../core/ports/cache-store";
import { LEASE_FIELD, MARKER_PREFIX, TOMBSTONE_FIELD } from "../../core/ports/cache-store";
import type { StreamEntry } from "../../core/ports/queue-store";
import { MemoryWriteBehind } from "./memory-write-behind";

interface Entry {
  value: string;
  /** Epoch ms; null = no expiry. */
  expiresAt: number | null;
}

const SCAN_BATCH = 500;
const SWEEP_INTERVAL_MS = 30_000;

/**
 * The embedded cache: the same contract as RedisCacheStore (versions only move forward,
 * tombstones, TTLs, glob SCAN, counters, locks) in a Map, for `bun start` without Redis and for
 * tests. Expired entries are dropped when touched, and by a periodic sweep so untouched ones do
 * not accumulate.
 */
export class MemoryCacheStore implements CacheStore {
  readonly kind = "memory";
  private readonly entries = new Map<string, Entry>();
  private readonly sweeper: ReturnType<typeof setInterval>;
  private readonly writeBehind = new MemoryWriteBehind();
  /** The last overlay `gen` given out (overlayAccumulate). */
  private lastGen = 0;
  private closed = false;

  constructor() {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref?.();
  }

  async get(key: string): Promise<string | null> {
    this.assertOpen();
    return live(this.read(key));
  }

  getThen<R>(
    key: string,
    onValue: (value: string | null) => R | PromiseLike<R>,
    onError: (err: unknown) => R | PromiseLike<R>,
  ): Promise<R> {
    return this.get(key).then(onValue, onError);
  }

  async mget(keys: readonly string[]): Promise<(string | null)[]> {
    this.assertOpen();
    return keys.map((k) => live(this.read(k)));
  }

  async setIfNewer(
    key: string,
    value: string,
    version: number,
    ttlSeconds: number,
    lease?: string,
    carried?: Readonly<Record<string, string>>,
  ): Promise<boolean> {
    this.assertOpen();
    const current = this.read(key);
    if (current === null) {
      if (lease) return false;
    } else {
      const { version: stored, tombstone, holder } = describe(current);
      if (holder !== undefined) {
        if (lease && lease !== holder) return false;
      } else if (tombstone ? version < stored : version <= stored) {
        return false;
      } else if (!tombstone && carried && laterIn(current, carried)) {
        return false;
      }
    }
    this.write(key, value, seconds(ttlSeconds) * 1000);
    return true;
  }

  async raiseLatest(
    key: string,
    times: Readonly<Record<string, string>>,
    swap?: { expected: string; replacement: string },
    breakLease = true,
  ): Promise<string | null> {
    this.assertOpen();
    const current = this.read(key);
    if (current === null) return null;
    if (current.startsWith(MARKER_PREFIX)) {
      if (breakLease && describe(current).holder !== undefined) this.entries.delete(key);
      return null;
    }
    if (swap && current === swap.expected) {
      const entry = this.entries.get(key);
      this.entries.set(key, { value: swap.replacement, expiresAt: entry?.expiresAt ?? null });
      return null;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(current);
    } catch {
      doc = null;
    }
    if (!doc || typeof doc !== "object") {
      this.entries.delete(key);
      return null;
    }
    const held = doc as Record<string, unknown>;
    for (const [field, time] of Object.entries(times)) {
      const v = held[field];
      if (typeof v !== "string" || v < time) return current;
    }
    return null;
  }

  async acquireFillLease(key: string, token: string, ttlMs: number): Promise<boolean> {
    this.assertOpen();
    if (this.read(key) !== null) return false;
    this.write(
      key,
      JSON.stringify({ [LEASE_FIELD]: token, version: -1 }),
      Math.max(1, Math.ceil(ttlMs)),
    );
    return true;
  }

  async invalidateVersioned(key: string, version: number, markerTtlMs: number): Promise<void> {
    this.assertOpen();
    const current = this.read(key);
    const stored = current === null ? -Infinity : describe(current).version;
    const marker = `{"${TOMBSTONE_FIELD}":true,"version":${Math.trunc(Math.max(version, stored))}}`;
    this.write(key, marker, Math.max(1, Math.ceil(markerTtlMs)));
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    this.assertOpen();
    this.write(key, value, seconds(ttlSeconds) * 1000);
  }

  async del(keys: readonly string[]): Promise<number> {
    this.assertOpen();
    let removed = 0;
    for (const k of keys)
      if ((this.read(k) !== null && this.entries.delete(k)) || this.writeBehind.delete(k))
        removed++;
    return removed;
  }

  /** Rounded like Redis' TTL: remaining milliseconds to the nearest second. */
  async ttl(key: string): Promise<number> {
    this.assertOpen();
    const entry = this.entries.get(key);
    if (this.read(key) === null || !entry) return this.writeBehind.ttl(key) ?? -2;
    const { expiresAt } = entry;
    return expiresAt === null ? -1 : Math.round((expiresAt - Date.now()) / 1000);
  }

  async scanCount(pattern: string): Promise<number> {
    let n = 0;
    await this.scan(pattern, (keys) => {
      n += keys.length;
    });
    return n;
  }

  async scan(pattern: string, onBatch: (keys: string[]) => Promise<void> | void): Promise<void> {
    this.assertOpen();
    const re = globToRegExp(pattern);
    // A snapshot, so onBatch may write or delete keys while we iterate.
    const matching = [...this.entries.keys()].filter((k) => re.test(k) && this.read(k) !== null);
    for (let i = 0; i < matching.length; i += SCAN_BATCH)
      await onBatch(matching.slice(i, i + SCAN_BATCH));
  }

  async incrWithExpiry(key: string, ttlSeconds: number): Promise<number> {
    this.assertOpen();
    const current = this.read(key);
    const entry = this.entries.get(key);
    if (current === null || !entry) {
      this.write(key, "1", seconds(ttlSeconds) * 1000);
      return 1;
    }
    const n = Number(current);
    if (!Number.isSafeInteger(n)) {
      throw new StoreUnavailableError(
        "redis",
        new Error("ERR value is not an integer or out of range"),
      );
    }
    entry.value = String(n + 1);
    if (entry.expiresAt === null) entry.expiresAt = Date.now() + seconds(ttlSeconds) * 1000;
    return n + 1;
  }

  async acquireLock(key: string, token: string, ttlMs: number): Promise<boolean> {
    this.assertOpen();
    if (this.read(key) !== null) return false;
    this.write(key, token, Math.max(1, Math.ceil(ttlMs)));
    return true;
  }

  async releaseLock(key: string, token: string): Promise<void> {
    this.assertOpen();
    if (this.read(key) === token) this.entries.delete(key);
  }

  /** As the Redis script: a JSON string of strings in the entries, so `get`/`mget` read it. */
  async overlayAccumulate(
    key: string,
    add: Readonly<Record<string, number>>,
    max: Readonly<Record<string, number>>,
    ttlSeconds: number,
  ): Promise<Record<string, string>> {
    this.assertOpen();
    const raw = this.read(key);
    let o: Record<string, string>;
    if (raw !== null) o = JSON.parse(raw) as Record<string, string>;
    else {
      // Like TIME in µs on Redis: unique and increasing within this process.
      this.lastGen = Math.max(this.lastGen + 1, Date.now() * 1000);
      o = { gen: String(this.lastGen) };
    }
    for (const [f, n] of Object.entries(add)) o[f] = String(Number(o[f] ?? 0) + Math.trunc(n));
    for (const [f, v] of Object.entries(max)) {
      const current = o[f];
      if (current === undefined || v > Number(current)) o[f] = String(v);
    }
    this.write(key, JSON.stringify(o), seconds(ttlSeconds) * 1000);
    return o;
  }

  async streamAdd(
    key: string,
    fields: Readonly<Record<string, string>>,
    maxLen: number,
  ): Promise<string | null> {
    this.assertOpen();
    return this.writeBehind.streamAdd(key, fields, maxLen);
  }

  async streamEnsureGroup(key: string, group: string): Promise<void> {
    this.assertOpen();
    this.writeBehind.streamEnsureGroup(key, group);
  }

  async streamReadGroup(
    key: string,
    group: string,
    consumer: string,
    count: number,
  ): Promise<StreamEntry[]> {
    this.assertOpen();
    return this.writeBehind.streamReadGroup(key, group, consumer, count);
  }

  async streamAutoClaim(
    key: string,
    group: string,
    consumer: string,
    minIdleMs: number,
    count: number,
  ): Promise<StreamEntry[]> {
    this.assertOpen();
    return this.writeBehind.streamAutoClaim(key, group, consumer, minIdleMs, count);
  }

  async streamAckDelete(key: string, group: string, ids: readonly string[]): Promise<number> {
    this.assertOpen();
    return this.writeBehind.streamAckDelete(key, group, ids);
  }

  async streamBacklog(key: string): Promise<{ length: number; oldestId: string | null }> {
    this.assertOpen();
    return this.writeBehind.streamBacklog(key);
  }

  /** One process, no replicas: nothing to fail over. */
  onFailover(): void {}

  async ping(): Promise<void> {
    this.assertOpen();
  }

  isConnected(): boolean {
    return !this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
  }

  /** The raw stored string (tombstones included), dropping it first if it has expired. */
  private read(key: string): string | null {
    const entry = this.entries.get(key);
    if (!entry) return null;
    if (entry.expiresAt !== null && entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return null;
    }
    return entry.value;
  }

  private write(key: string, value: string, ttlMs: number): void {
    this.entries.set(key, { value, expiresAt: Date.now() + ttlMs });
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, e] of this.entries)
      if (e.expiresAt !== null && e.expiresAt <= now) this.entries.delete(k);
  }

  /** Like a closed Redis client: calls after close fail the same way. */
  private assertOpen(): void {
    if (this.closed) throw new StoreUnavailableError("redis", new Error("cache store closed"));
  }
}

function live(value: string | null): string | null {
  return value === null || value.startsWith(MARKER_PREFIX) ? null : value;
}

/** Same reading as the Lua script: an unreadable version counts as -1. */
/** True when the stored document holds a later time than `carried` for one of its fields. */
function laterIn(stored: string, carried: Readonly<Record<string, string>>): boolean {
  let doc: unknown;
  try {
    doc = JSON.parse(stored);
  } catch {
    return false;
  }
  if (!doc || typeof doc !== "object") return false;
  const held = doc as Record<string, unknown>;
  return Object.entries(carried).some(([f, t]) => typeof held[f] === "string" && held[f] > t);
}

function describe(stored: string): { version: number; tombstone: boolean; holder?: string } {
  try {
    const doc: unknown = JSON.parse(stored);
    if (doc && typeof doc === "object") {
      const {
        version,
        [TOMBSTONE_FIELD]: tombstone,
        [LEASE_FIELD]: holder,
      } = doc as Record<string, unknown>;
      return {
        version: typeof version === "number" ? version : -1,
        tombstone: tombstone === true,
        ...(typeof holder === "string" ? { holder } : {}),
      };
    }
  } catch {
    // Not JSON (an index value, a counter): no version.
  }
  return { version: -1, tombstone: false };
}

/** Redis refuses a TTL of 0 and only takes whole seconds; match what the Redis adapter sends. */
function seconds(ttlSeconds: number): number {
  return Math.max(1, Math.ceil(ttlSeconds));
}

/**
 * Redis's glob (`stringmatchlen`): `*`, `?`, classes `[abc]` `[a-z]` `[^a]`, backslash escapes;
 * everything else is literal. An unclosed `[` is literal. `/cache/stats` counts user keys with a
 * class (`user:[0-9a-f]…`), so classes must match here as they do on Redis.
 */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === "*") re += "[\\s\\S]*";
    else if (c === "?") re += "[\\s\\S]";
    else if (c === "\\" && i + 1 < glob.length) re += escapeRe(glob[++i] as string);
    else if (c === "[" && glob.indexOf("]", i + 1) > i) {
      const close = classEnd(glob, i);
      re += classToRegExp(glob.slice(i + 1, close));
      i = close;
    } else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`);
}

/** Index of the `]` closing the class opened at `open`, skipping escaped characters (as Redis). */
function classEnd(glob: string, open: number): number {
  let j = open + 1;
  while (j < glob.length && glob[j] !== "]") j += glob[j] === "\\" ? 2 : 1;
  return Math.min(j, glob.length - 1);
}

function classToRegExp(body: string): string {
  const negate = body.startsWith("^");
  let out = "";
  for (let i = negate ? 1 : 0; i < body.length; i++) {
    let c = body[i] as string;
    if (c === "\\" && i + 1 < body.length) c = body[++i] as string;
    if (body[i + 1] === "-" && i + 2 < body.length) {
      let end = body[i + 2] as string;
      i += 2;
      if (end === "\\" && i + 1 < body.length) end = body[++i] as string;
      // Redis accepts a reversed range ([z-a]) as the same range.
      const [lo, hi] = c <= end ? [c, end] : [end, c];
      out += `${escapeClass(lo)}-${escapeClass(hi)}`;
    } else out += escapeClass(c);
  }
  return `[${negate ? "^" : ""}${out}]`;
}

function escapeClass(c: string): string {
  return c.replace(/[\\\]^-]/g, "\\$&");
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}
