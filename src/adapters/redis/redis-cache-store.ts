import { Cluster, type Redis } from "ioredis";
import { StoreUnavailableError } from "../../core/errors";
import type { CacheStore } from "../../core/ports/cache-store";
import { LEASE_FIELD, MARKER_PREFIX } from "../../core/ports/cache-store";
import type { StreamEntry } from "../../core/ports/queue-store";
import {
  CommandGate,
  closeClient,
  createCommandClient,
  type RedisAdapterOptions,
  type RedisClient,
  rethrowUnavailable,
  unavailable,
  waitReplicasOf,
} from "./connection";
import { FailoverFence } from "./failover-fence";
import { INCR_WITH_EXPIRY_LUA } from "./scripts/incr-with-expiry";
import { INVALIDATE_VERSIONED_LUA } from "./scripts/invalidate-versioned";
import { RAISE_LATEST_LUA } from "./scripts/raise-latest";
import { RELEASE_LOCK_LUA } from "./scripts/release-lock";
import { SET_IF_NEWER, SET_IF_NEWER_LUA } from "./scripts/set-if-newer";
import {
  OVERLAY_ACCUMULATE_LUA,
  STREAM_ACK_DELETE_LUA,
  STREAM_ADD_LUA,
} from "./scripts/write-behind";

/** The commands `defineCommand` adds to this store's client. */
interface ScriptedRedis {
  setIfNewer(
    key: string,
    value: string,
    version: number,
    ttlSeconds: number,
    lease: string,
    reassert: "1" | "",
    ...carried: string[]
  ): Promise<number>;
  raiseLatest(
    key: string,
    expected: string,
    replacement: string,
    breakLease: "1" | "",
    ...times: string[]
  ): Promise<string | null>;
  invalidateVersioned(key: string, version: number, markerTtlMs: number): Promise<number>;
  incrWithExpiry(key: string, ttlSeconds: number): Promise<number>;
  releaseLock(key: string, token: string): Promise<number>;
  overlayAccumulate(key: string, ...args: (string | number)[]): Promise<string>;
  streamAckDelete(key: string, group: string, ...ids: string[]): Promise<number>;
}

const SCAN_COUNT = 500;

/** Tombstones and leases are written only by us, always starting with `{"__`: both read as a miss. */
const live = (value: string | null): string | null =>
  value === null || value.startsWith(MARKER_PREFIX) ? null : value;

/** SET EX refuses 0 and fractions; a sub-second TTL still means "expire soon". */
const wholeSeconds = (ttlSeconds: number): number => Math.max(1, Math.ceil(ttlSeconds));

/** The key `ping` reads through the router, so a misrouted (MOVED) connection is not "up". */
const PROBE_KEY = "cachesync:ready-probe";

export class RedisCacheStore implements CacheStore {
  readonly kind = "redis";
  readonly client: RedisClient;
  /** Detects failovers and refuses reads until what they may have lost is repaired. */
  readonly fence: FailoverFence;
  private readonly scripted: ScriptedRedis;
  private readonly timeoutMs: number;
  private readonly gate: CommandGate;
  private readonly waitReplicas: number;
  private readonly waitTimeoutMs: number;
  private closed = false;

  constructor(opts: RedisAdapterOptions & { onFailover?: (detail: string) => void }) {
    const client = createCommandClient(opts);
    client.defineCommand("setIfNewer", { lua: SET_IF_NEWER_LUA, numberOfKeys: 1 });
    client.defineCommand("invalidateVersioned", { lua: INVALIDATE_VERSIONED_LUA, numberOfKeys: 1 });
    client.defineCommand("raiseLatest", { lua: RAISE_LATEST_LUA, numberOfKeys: 1 });
    client.defineCommand("incrWithExpiry", { lua: INCR_WITH_EXPIRY_LUA, numberOfKeys: 1 });
    client.defineCommand("releaseLock", { lua: RELEASE_LOCK_LUA, numberOfKeys: 1 });
    client.defineCommand("overlayAccumulate", { lua: OVERLAY_ACCUMULATE_LUA, numberOfKeys: 1 });
    client.defineCommand("streamAdd", { lua: STREAM_ADD_LUA, numberOfKeys: 1 });
    client.defineCommand("streamAckDelete", { lua: STREAM_ACK_DELETE_LUA, numberOfKeys: 1 });
    this.client = client;
    this.scripted = client as unknown as ScriptedRedis;
    this.timeoutMs = opts.timeoutMs;
    this.gate = new CommandGate(client, opts.timeoutMs);
    this.fence = new FailoverFence(client, opts.onFailover);
    this.waitReplicas = waitReplicasOf(opts);
    // Below the command timeout, so a lagging replica reads as "not acknowledged", not a timeout.
    this.waitTimeoutMs = Math.max(1, Math.floor(opts.timeoutMs * 0.6));
  }

  /**
   * The repair to run after a failover before reads are trusted again (the cache engine's
   * repair of recorded debts). Until it succeeds, reads answer "unavailable".
   */
  onFailover(repair: () => Promise<void>): void {
    this.fence.setRepair(repair);
  }

  private run<T>(op: () => Promise<T>): Promise<T> {
    return this.gate.run(op);
  }

  get(key: string): Promise<string | null> {
    return this.readThen(key, identity, rethrowUnavailable);
  }

  getThen<R>(
    key: string,
    onValue: (value: string | null) => R | PromiseLike<R>,
    onError: (err: unknown) => R | PromiseLike<R>,
  ): Promise<R> {
    return this.readThen(key, onValue, onError);
  }

  private readThen<R>(
    key: string,
    onValue: (value: string | null) => R | PromiseLike<R>,
    onError: (err: unknown) => R | PromiseLike<R>,
  ): Promise<R> {
    // The hit path, once connected and with the fence letting the key through (nearly always):
    // one promise hop over the client's, doing what `run` and `fenced` do — the fence checked
    // again after the round trip, a failure answered as "unavailable".
    if (this.gate.open && this.fence.allows(key)) {
      let sent: Promise<string | null>;
      try {
        sent = this.client.get(key);
      } catch (err) {
        return Promise.reject(unavailable(err)).then(undefined, onError);
      }
      return sent.then(
        (value) => (this.fence.allows(key) ? onValue(live(value)) : onError(fencedOff())),
        (err) => onError(unavailable(err)),
      );
    }
    return this.run(() => this.fenced([key], () => this.client.get(key).then(live))).then(
      onValue,
      onError,
    );
  }

  /**
   * Standalone and Sentinel: one MGET. Cluster: one GET per key, which auto-pipelining batches
   * per node: MGET cannot span slots, and grouping by slot would rarely put two user keys
   * together (16384 slots). Not an explicit pipeline: that is a socket write of its own, where
   * auto-pipelined commands of the same tick share one (profiled on the hit path).
   */
  mget(keys: readonly string[]): Promise<(string | null)[]> {
    if (keys.length === 0) return Promise.resolve([]);
    const client = this.client;
    return this.run(() =>
      this.fenced(keys, () =>
        client instanceof Cluster
          ? Promise.all(keys.map((k) => client.get(k).catch(notString))).then(liveAll)
          : client.mget(keys as string[]).then(liveAll),
      ),
    );
  }

  /**
   * Reads pass the failover fence before and after the round trip: the reply of a server that
   * took over since (a promoted replica) is not served until the fence's repair ran. A read that
   * meets a verification in progress waits for it, within the command timeout.
   */
  private fenced<T>(keys: readonly string[], read: () => Promise<T>): Promise<T> {
    // The hit path: no async frame while the fence lets the keys through (it nearly always does).
    if (this.fenceAllows(keys)) return read().then((out) => this.stillAllowed(keys, out));
    return this.fencedAfterSettling(keys, read);
  }

  private async fencedAfterSettling<T>(
    keys: readonly string[],
    read: () => Promise<T>,
  ): Promise<T> {
    const settling = this.fence.settling();
    if (settling) await Promise.race([settling, Bun.sleep(this.timeoutMs)]);
    if (!this.fenceAllows(keys)) throw fencedOff();
    return this.stillAllowed(keys, await read());
  }

  private stillAllowed<T>(keys: readonly string[], out: T): T {
    if (!this.fenceAllows(keys)) throw fencedOff();
    return out;
  }

  private fenceAllows(keys: readonly string[]): boolean {
    for (const k of keys) if (!this.fence.allows(k)) return false;
    return true;
  }

  /**
   * A write followed by `WAIT n` on the same connection (a pipeline goes to the key's node): it
   * counts as done only once `waitReplicas` replicas have it, so a failover cannot lose it. Fewer
   * acknowledgements → StoreUnavailableError, and the caller records the repair.
   */
  private async replicated<T>(command: (string | number)[]): Promise<T> {
    // No WAIT: the command alone, auto-pipelined (an explicit pipeline is a socket write of its own).
    if (this.waitReplicas === 0) return this.send<T>(command);
    const [reply, acks] = unwrap<unknown>(await this.client.pipeline(this.waited(command)).exec());
    this.requireAcks(acks);
    return reply as T;
  }

  /** A command by name (a built-in or one of the scripts defined on the client). */
  private send<T>(command: (string | number)[]): Promise<T> {
    const [name, ...args] = command;
    const methods = this.client as unknown as Record<
      string,
      (...a: (string | number)[]) => Promise<T>
    >;
    return (methods[name as string] as (...a: (string | number)[]) => Promise<T>).apply(
      this.client,
      args,
    );
  }

  private waited(...commands: (string | number)[][]): (string | number)[][] {
    return [...commands, ["wait", this.waitReplicas, this.waitTimeoutMs]];
  }

  private requireAcks(acks: unknown): void {
    if (typeof acks !== "number" || acks < this.waitReplicas)
      throw new StoreUnavailableError(
        "redis",
        new Error(`WAIT: ${acks} of ${this.waitReplicas} replicas acknowledged`),
      );
  }

  /**
   * Replicated (`WAIT`) unless it is a fill landing in its own lease: lost in a failover, that
   * fill only leaves its lease (or the empty key it leased) behind, a miss. Everything else must
   * survive: a write-through (the engine gives it a lease that matches no fill), a fill replacing
   * an entry, and a write refused because the key holds this version or newer — the script then
   * rewrites that entry, which may be another instance's fill nobody waited for, so the `WAIT`
   * covers what the caller is about to acknowledge as "already there".
   */
  setIfNewer(
    key: string,
    value: string,
    version: number,
    ttlSeconds: number,
    lease?: string,
    carried?: Readonly<Record<string, string>>,
  ): Promise<boolean> {
    const args = [key, value, version, wholeSeconds(ttlSeconds), lease ?? ""] as const;
    const pairs = carried ? Object.entries(carried).flat() : [];
    if (this.waitReplicas === 0)
      return this.run(
        async () =>
          (await this.scripted.setIfNewer(...args, "", ...pairs)) !== SET_IF_NEWER.refused,
      );
    return this.run(async () => {
      const replies = await this.client
        .pipeline(this.waited(["setIfNewer", ...args, "1", ...pairs]))
        .exec();
      const [stored, acks] = unwrap<unknown>(replies);
      if (stored !== SET_IF_NEWER.storedOnLease) this.requireAcks(acks);
      return stored !== SET_IF_NEWER.refused;
    });
  }

  /** Not replicated (WAIT): like the overlay it follows, a time lost in a failover shows late. */
  raiseLatest(
    key: string,
    times: Readonly<Record<string, string>>,
    swap?: { expected: string; replacement: string },
    breakLease = true,
  ): Promise<string | null> {
    const pairs = Object.entries(times).flat();
    return this.run(() =>
      this.scripted.raiseLatest(
        key,
        swap?.expected ?? "",
        swap?.replacement ?? "",
        breakLease ? "1" : "",
        ...pairs,
      ),
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
      await this.replicated([
        "invalidateVersioned",
        key,
        version,
        Math.max(1, Math.ceil(markerTtlMs)),
      ]);
    });
  }

  set(key: string, value: string, ttlSeconds: number): Promise<void> {
    return this.run(async () => {
      await this.client.set(key, value, "EX", wholeSeconds(ttlSeconds));
    });
  }

  /**
   * One DEL on a single server (per-key DELs in one pipeline when WAITed), per-key DELs
   * auto-pipelined per node on Cluster (as `mget`).
   * Replicated (`WAIT`) like a versioned write: emptying a key is how writes and invalidations
   * retire an entry, and a DEL lost in a failover would bring the older entry back.
   */
  del(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return Promise.resolve(0);
    const client = this.client;
    const dels = keys.map((k) => ["del", k]);
    return this.run(async () => {
      let counts: number[];
      if (this.waitReplicas > 0 && client instanceof Cluster)
        counts = await Promise.all(dels.map((d) => this.replicated<number>(d)));
      else if (client instanceof Cluster)
        counts = await Promise.all(keys.map((k) => client.del(k)));
      else if (this.waitReplicas > 0) {
        const replies = unwrap<number>(await client.pipeline(this.waited(...dels)).exec());
        this.requireAcks(replies.pop());
        counts = replies;
      } else return client.del(...keys);
      return counts.reduce((sum, n) => sum + n, 0);
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

  /**
   * Batches are whatever each SCAN step returns (may repeat a key, as SCAN does); empty ones are
   * skipped. On Cluster, SCAN runs on every master in turn (each holds its own slots).
   */
  async scan(pattern: string, onBatch: (keys: string[]) => Promise<void> | void): Promise<void> {
    const nodes = await this.run(async () => this.scanTargets());
    for (const node of nodes) {
      let cursor = "0";
      do {
        const [next, keys] = await this.run(() =>
          node.scan(cursor, "MATCH", pattern, "COUNT", SCAN_COUNT),
        );
        cursor = next;
        if (keys.length) await onBatch(keys);
      } while (cursor !== "0");
    }
  }

  private scanTargets(): Redis[] {
    const client = this.client;
    if (!(client instanceof Cluster)) return [client];
    const masters = client.nodes("master");
    if (masters.length === 0) throw new Error("no cluster master known");
    return masters;
  }

  incrWithExpiry(key: string, ttlSeconds: number): Promise<number> {
    return this.run(() => this.scripted.incrWithExpiry(key, wholeSeconds(ttlSeconds)));
  }

  /** Replicated like a versioned write: a lock lost in a failover could be taken twice. */
  acquireLock(key: string, token: string, ttlMs: number): Promise<boolean> {
    return this.run(async () => {
      const ok =
        (await this.replicated<string | null>([
          "set",
          key,
          token,
          "PX",
          Math.max(1, Math.ceil(ttlMs)),
          "NX",
        ])) === "OK";
      return ok;
    });
  }

  releaseLock(key: string, token: string): Promise<void> {
    return this.run(async () => {
      await this.scripted.releaseLock(key, token);
    });
  }

  overlayAccumulate(
    key: string,
    add: Readonly<Record<string, number>>,
    max: Readonly<Record<string, number>>,
    ttlSeconds: number,
  ): Promise<Record<string, string>> {
    const adds = Object.entries(add);
    const args: (string | number)[] = [wholeSeconds(ttlSeconds), adds.length];
    for (const [f, n] of adds) args.push(f, String(Math.trunc(n)));
    for (const [f, v] of Object.entries(max)) args.push(f, String(v));
    return this.run(
      async () =>
        JSON.parse(await this.scripted.overlayAccumulate(key, ...args)) as Record<string, string>,
    );
  }

  /** Replicated like a versioned write (WAIT): an acknowledged change must survive a failover. */
  streamAdd(
    key: string,
    fields: Readonly<Record<string, string>>,
    maxLen: number,
  ): Promise<string | null> {
    const flat = Object.entries(fields).flat();
    return this.run(() =>
      this.replicated<string | null>(["streamAdd", key, Math.max(1, Math.floor(maxLen)), ...flat]),
    );
  }

  streamEnsureGroup(key: string, group: string): Promise<void> {
    return this.run(async () => {
      try {
        await this.client.xgroup("CREATE", key, group, "0", "MKSTREAM");
      } catch (err) {
        if (!/BUSYGROUP/.test(String((err as Error).message))) throw err;
      }
    });
  }

  async streamReadGroup(
    key: string,
    group: string,
    consumer: string,
    count: number,
  ): Promise<StreamEntry[]> {
    const read = () =>
      this.run(async () => {
        const reply = (await this.client.xreadgroup(
          "GROUP",
          group,
          consumer,
          "COUNT",
          Math.max(1, Math.floor(count)),
          "STREAMS",
          key,
          ">",
        )) as [string, [string, string[]][]][] | null;
        return (reply?.[0]?.[1] ?? []).map(toEntry);
      });
    try {
      return await read();
    } catch (err) {
      // Redis restarted without its data: the group went with the stream.
      if (!/NOGROUP/.test(String((err as Error).cause ?? err))) throw err;
      await this.streamEnsureGroup(key, group);
      return read();
    }
  }

  streamAutoClaim(
    key: string,
    group: string,
    consumer: string,
    minIdleMs: number,
    count: number,
  ): Promise<StreamEntry[]> {
    return this.run(async () => {
      const reply = (await this.client.xautoclaim(
        key,
        group,
        consumer,
        Math.max(0, Math.floor(minIdleMs)),
        "0",
        "COUNT",
        Math.max(1, Math.floor(count)),
      )) as [string, ([string, string[]] | null)[], string[]?];
      // Entries deleted while pending come back as nil (Redis 6.2) or in the third element (7).
      return reply[1].filter((e): e is [string, string[]] => e !== null).map(toEntry);
    });
  }

  streamAckDelete(key: string, group: string, ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return Promise.resolve(0);
    return this.run(() => this.scripted.streamAckDelete(key, group, ...ids));
  }

  streamBacklog(key: string): Promise<{ length: number; oldestId: string | null }> {
    return this.run(async () => {
      const [length, oldest] = unwrap<unknown>(
        await this.client
          .pipeline([
            ["xlen", key],
            ["xrange", key, "-", "+", "COUNT", 1],
          ])
          .exec(),
      ) as [number, [string, string[]][]];
      return { length, oldestId: oldest[0]?.[0] ?? null };
    });
  }

  /**
   * Up only when commands succeed: a keyed read through the router (a MOVED reply fails it), and
   * on Cluster a PING to every master; a standalone URL that is a cluster node is refused.
   */
  ping(): Promise<void> {
    const client = this.client;
    return this.run(async () => {
      if (client instanceof Cluster) {
        const masters = client.nodes("master");
        // ioredis drops a dead node's connection: every slot's owner must still be connected.
        const connected = new Set(masters.map((m) => `${m.options.host}:${m.options.port}`));
        for (let slot = 0; slot < client.slots.length; slot++) {
          const owner = client.slots[slot]?.[0];
          if (!owner || !connected.has(owner))
            throw new Error(`slot ${slot}: its master ${owner ?? "(none)"} is not reachable`);
        }
        if (masters.length === 0) throw new Error("no cluster master known");
        await Promise.all(masters.map((m) => m.ping()));
      } else if (/cluster_enabled:1/.test(await client.info("cluster"))) {
        throw new Error(
          "REDIS_URL points at a Redis Cluster node but the cache runs standalone: restart to detect it, or set REDIS_CLUSTER_NODES",
        );
      }
      await client.exists(PROBE_KEY);
    });
  }

  isConnected(): boolean {
    return this.client.status === "ready";
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fence.close();
    await closeClient(this.client, this.timeoutMs);
  }
}

/**
 * GET's WRONGTYPE read as MGET answers a key holding another type: nil (Cluster reads per key).
 * A write-behind overlay of the previous format is a hash until a change takes it over.
 */
function notString(err: unknown): null {
  if (/WRONGTYPE/.test(String(err))) return null;
  throw err;
}

const liveAll = (values: (string | null)[]): (string | null)[] => values.map(live);

const identity = <T>(v: T): T => v;

const fencedOff = () =>
  new StoreUnavailableError("redis", new Error("Redis failed over: reads wait for the repair"));

/** HGETALL-shaped flat reply → object. */
function pairs(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string;
  return out;
}

const toEntry = ([id, fields]: [string, string[]]): StreamEntry => ({ id, fields: pairs(fields) });

/** A pipeline reports per-command errors in its result instead of rejecting. */
function unwrap<T>(replies: [error: Error | null, result: unknown][] | null): T[] {
  if (!replies) throw new Error("pipeline aborted");
  return replies.map(([err, result]) => {
    if (err) throw err;
    return result as T;
  });
}
