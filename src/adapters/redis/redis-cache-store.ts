import type Redis from "ioredis";
import type { CacheStore } from "../../core/ports/cache-store";
import { LEASE_FIELD, MARKER_PREFIX } from "../../core/ports/cache-store";
import {
  CommandGate,
  closeClient,
  createCommandClient,
  type RedisAdapterOptions,
} from "./connection";
import { INCR_WITH_EXPIRY_LUA } from "./scripts/incr-with-expiry";
import { INVALIDATE_VERSIONED_LUA } from "./scripts/invalidate-versioned";
import { RELEASE_LOCK_LUA } from "./scripts/release-lock";
import { SET_IF_NEWER_LUA } from "./scripts/set-if-newer";

/** The commands `defineCommand` adds to this store's client. */
interface ScriptedRedis extends Redis {
  setIfNewer(
    key: string,
    value: string,
    version: number,
    ttlSeconds: number,
    lease: string,
  ): Promise<number>;
  invalidateVersioned(key: string, version: number, markerTtlMs: number): Promise<number>;
  incrWithExpiry(key: string, ttlSeconds: number): Promise<number>;
  releaseLock(key: string, token: string): Promise<number>;
}

const SCAN_COUNT = 500;

/** Tombstones and leases are written only by us, always starting with `{"__`: both read as a miss. */
const live = (value: string | null): string | null =>
  value === null || value.startsWith(MARKER_PREFIX) ? null : value;

/** SET EX refuses 0 and fractions; a sub-second TTL still means "expire soon". */
const wholeSeconds = (ttlSeconds: number): number => Math.max(1, Math.ceil(ttlSeconds));

export class RedisCacheStore implements CacheStore {
  readonly kind = "redis";
  readonly client: Redis;
  private readonly scripted: ScriptedRedis;
  private readonly timeoutMs: number;
  private readonly gate: CommandGate;
  private closed = false;

  constructor(opts: RedisAdapterOptions) {
    const client = createCommandClient(opts);
    client.defineCommand("setIfNewer", { lua: SET_IF_NEWER_LUA, numberOfKeys: 1 });
    client.defineCommand("invalidateVersioned", { lua: INVALIDATE_VERSIONED_LUA, numberOfKeys: 1 });
    client.defineCommand("incrWithExpiry", { lua: INCR_WITH_EXPIRY_LUA, numberOfKeys: 1 });
    client.defineCommand("releaseLock", { lua: RELEASE_LOCK_LUA, numberOfKeys: 1 });
    this.client = client;
    this.scripted = client as ScriptedRedis;
    this.timeoutMs = opts.timeoutMs;
    this.gate = new CommandGate(client, opts.timeoutMs);
  }

  private run<T>(op: () => Promise<T>): Promise<T> {
    return this.gate.run(op);
  }

  get(key: string): Promise<string | null> {
    return this.run(() => this.client.get(key).then(live));
  }

  /**
   * One GET per key in one pipeline rather than MGET: one round trip either way, and it keeps
   * working when keys hash to different Cluster slots.
   */
  mget(keys: readonly string[]): Promise<(string | null)[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return this.run(async () => {
      const replies = await this.client.pipeline(keys.map((k) => ["get", k])).exec();
      return unwrap<string | null>(replies).map(live);
    });
  }

  setIfNewer(
    key: string,
    value: string,
    version: number,
    ttlSeconds: number,
    lease?: string,
  ): Promise<boolean> {
    return this.run(
      async () =>
        (await this.scripted.setIfNewer(
          key,
          value,
          version,
          wholeSeconds(ttlSeconds),
          lease ?? "",
        )) === 1,
    );
  }

  acquireFillLease(key: string, token: string, ttlMs: number): Promise<boolean> {
    const marker = JSON.stringify({ [LEASE_FIELD]: token, version: -1 });
    return this.run(
      async () =>
        (await this.client.set(key, marker, "PX", Math.max(1, Math.ceil(ttlMs)), "NX")) === "OK",
    );
  }

  invalidateVersioned(key: string, version: number, markerTtlMs: number): Promise<void> {
    return this.run(async () => {
      await this.scripted.invalidateVersioned(key, version, Math.max(1, Math.ceil(markerTtlMs)));
    });
  }

  set(key: string, value: string, ttlSeconds: number): Promise<void> {
    return this.run(async () => {
      await this.client.set(key, value, "EX", wholeSeconds(ttlSeconds));
    });
  }

  /** Per-key DELs in one pipeline, for the same Cluster reason as `mget`. */
  del(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return Promise.resolve(0);
    return this.run(async () => {
      const replies = await this.client.pipeline(keys.map((k) => ["del", k])).exec();
      return unwrap<number>(replies).reduce((sum, n) => sum + n, 0);
    });
  }

  ttl(key: string): Promise<number> {
    return this.run(() => this.client.ttl(key));
  }

  /** SCAN may return a key twice while Redis rehashes; a Set keeps the count exact. */
  async scanCount(pattern: string): Promise<number> {
    const seen = new Set<string>();
    await this.scan(pattern, (keys) => {
      for (const k of keys) seen.add(k);
    });
    return seen.size;
  }

  /** Batches are whatever each SCAN step returns (may repeat a key, as SCAN does); empty ones are skipped. */
  async scan(pattern: string, onBatch: (keys: string[]) => Promise<void> | void): Promise<void> {
    let cursor = "0";
    do {
      const [next, keys] = await this.run(() =>
        this.client.scan(cursor, "MATCH", pattern, "COUNT", SCAN_COUNT),
      );
      cursor = next;
      if (keys.length) await onBatch(keys);
    } while (cursor !== "0");
  }

  incrWithExpiry(key: string, ttlSeconds: number): Promise<number> {
    return this.run(() => this.scripted.incrWithExpiry(key, wholeSeconds(ttlSeconds)));
  }

  acquireLock(key: string, token: string, ttlMs: number): Promise<boolean> {
    return this.run(
      async () =>
        (await this.client.set(key, token, "PX", Math.max(1, Math.ceil(ttlMs)), "NX")) === "OK",
    );
  }

  releaseLock(key: string, token: string): Promise<void> {
    return this.run(async () => {
      await this.scripted.releaseLock(key, token);
    });
  }

  ping(): Promise<void> {
    return this.run(async () => {
      await this.client.ping();
    });
  }

  isConnected(): boolean {
    return this.client.status === "ready";
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await closeClient(this.client, this.timeoutMs);
  }
}

/** A pipeline reports per-command errors in its result instead of rejecting. */
function unwrap<T>(replies: [error: Error | null, result: unknown][] | null): T[] {
  if (!replies) throw new Error("pipeline aborted");
  return replies.map(([err, result]) => {
    if (err) throw err;
    return result as T;
  });
}
