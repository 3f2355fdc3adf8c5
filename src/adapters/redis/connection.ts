import Redis, { Cluster, type ClusterOptions, type RedisOptions } from "ioredis";
import { StoreUnavailableError } from "../../core/errors";
import { enforceDeadlines } from "./deadlines";
import type { RedisAuth, RedisTopology } from "./topology";

/** A single server (standalone or found through Sentinel) or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

export interface RedisAdapterOptions {
  /** Standalone server URL; ignored when `topology` is given. */
  url?: string;
  /** Cluster, Sentinel or standalone (`topologyFromSettings`); defaults to standalone `url`. */
  topology?: RedisTopology;
  /**
   * Replicas that must acknowledge a versioned write (`WAIT`) before it counts as done, so a
   * failover cannot lose it (docs/SCALING.md). Default: 1 on Cluster and Sentinel, 0 standalone.
   */
  waitReplicas?: number;
  /** Upper bound for every command; a slow or hung Redis rejects after this. */
  timeoutMs: number;
  /** Replay window of the event bus streams (ignored by the cache store). */
  streamMaxLen: number;
  /** Batch commands issued in the same tick into one write (default true). */
  autoPipelining?: boolean;
  /** Connection errors; they repeat while Redis is down, so the default is to ignore them. */
  onError?: (err: Error) => void;
}

/** Reconnect delays grow 50, 100, 200 … ms up to this, so a returning Redis is used within ~2 s. */
const MAX_RECONNECT_DELAY_MS = 2000;

export function reconnectDelay(attempt: number): number {
  const base = Math.min(50 * 2 ** Math.min(attempt - 1, 16), MAX_RECONNECT_DELAY_MS);
  // Jitter spreads the reconnects of many API instances after a Redis restart.
  return base + Math.floor(Math.random() * base * 0.2);
}

/**
 * Command connection: no offline queue and no retries, so a down Redis fails fast instead of
 * piling up requests; every command has a deadline, so a hung one fails in time (one timer per
 * connection, deadlines.ts; a cluster keeps ioredis's per-command `commandTimeout`).
 */
export function createCommandClient(opts: RedisAdapterOptions): RedisClient {
  const topology = topologyOf(opts);
  const perConnection = topology.mode !== "cluster";
  const client = connectTo(topology, {
    ...(perConnection ? {} : { commandTimeout: opts.timeoutMs }),
    connectTimeout: connectTimeout(opts.timeoutMs),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    enableAutoPipelining: opts.autoPipelining ?? true,
    retryStrategy: reconnectDelay,
  });
  client.on("error", opts.onError ?? noop);
  if (client instanceof Redis) enforceDeadlines(client, opts.timeoutMs);
  return client;
}

export function topologyOf(opts: RedisAdapterOptions): RedisTopology {
  if (opts.topology) return opts.topology;
  if (!opts.url) throw new Error("Redis adapter needs a url or a topology");
  return { mode: "standalone", url: opts.url };
}

/** WAIT's replica count for this topology (see RedisAdapterOptions.waitReplicas). */
export function waitReplicasOf(opts: RedisAdapterOptions): number {
  return opts.waitReplicas ?? (topologyOf(opts).mode === "standalone" ? 0 : 1);
}

const authOptions = (auth: RedisAuth): RedisOptions => ({
  ...(auth.username ? { username: auth.username } : {}),
  ...(auth.password ? { password: auth.password } : {}),
  ...(auth.tls ? { tls: {} } : {}),
});

/**
 * One client for the topology. Cluster: no retry on a closed connection, CLUSTERDOWN or
 * TRYAGAIN (a command fails fast like on a single server, and is never re-sent to a random
 * node, which the failover fence relies on); MOVED is still followed.
 */
function connectTo(topology: RedisTopology, options: RedisOptions): RedisClient {
  if (topology.mode === "standalone") return new Redis(topology.url, options);
  if (topology.mode === "sentinel") {
    return new Redis({
      ...options,
      ...authOptions(topology.auth),
      sentinels: topology.sentinels,
      name: topology.name,
      ...(topology.sentinelPassword ? { sentinelPassword: topology.sentinelPassword } : {}),
      enableTLSForSentinelMode: topology.auth.tls,
      // Reconnects as soon as the sentinels announce +switch-master, not on the next error.
      failoverDetector: true,
    });
  }
  const { enableOfflineQueue, enableAutoPipelining, retryStrategy, ...nodeOptions } = options;
  const clusterOptions: ClusterOptions = {
    enableOfflineQueue,
    enableAutoPipelining,
    clusterRetryStrategy: (times) => (retryStrategy ? retryStrategy(times) : null),
    retryDelayOnFailover: 0,
    retryDelayOnClusterDown: 0,
    retryDelayOnTryAgain: 0,
    slotsRefreshInterval: 1000,
    slotsRefreshTimeout: Math.max(1000, options.commandTimeout ?? 1000),
    redisOptions: { ...nodeOptions, ...authOptions(topology.auth) },
    // TLS certificates name hosts, not the IPs DNS resolves them to.
    ...(topology.auth.tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
  };
  return new Cluster(topology.nodes, clusterOptions);
}

/**
 * Subscriber connection: SUBSCRIBE issued while reconnecting is queued (and the caller's wait is
 * bounded by `withTimeout`); `autoResubscribe` restores the channels after a reconnect.
 */
export function createSubscriberClient(opts: RedisAdapterOptions): RedisClient {
  const topology = topologyOf(opts);
  const options: RedisOptions = {
    connectTimeout: connectTimeout(opts.timeoutMs),
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    autoResubscribe: true,
    retryStrategy: reconnectDelay,
  };
  const client =
    topology.mode === "cluster"
      ? // Sharded pub/sub: one subscriber per master, SSUBSCRIBE sent to the topic's shard.
        new Cluster(topology.nodes, {
          enableOfflineQueue: true,
          shardedSubscribers: true,
          clusterRetryStrategy: reconnectDelay,
          slotsRefreshInterval: 1000,
          redisOptions: {
            connectTimeout: options.connectTimeout,
            maxRetriesPerRequest: null,
            autoResubscribe: true,
            ...authOptions(topology.auth),
          },
        })
      : connectTo(topology, options);
  client.on("error", opts.onError ?? noop);
  return client;
}

function connectTimeout(timeoutMs: number): number {
  return Math.max(1000, timeoutMs * 4);
}

/**
 * Resolves on the first `ready`, or as soon as the first attempt fails or `ms` pass: calls made
 * right after construction wait for the initial connection, later ones never wait.
 */
export function firstConnection(client: RedisClient, ms: number): Promise<void> {
  if (client.status === "ready") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      client.off("ready", done).off("error", done).off("end", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref?.();
    client.once("ready", done).once("error", done).once("end", done);
  });
}

export function unavailable(cause: unknown): StoreUnavailableError {
  return cause instanceof StoreUnavailableError ? cause : new StoreUnavailableError("redis", cause);
}

/** For calls that command deadlines do not bound (waiting on the subscriber, on QUIT). */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** QUIT lets in-flight replies arrive; when Redis is unreachable, drop the socket instead. */
export async function closeClient(client: RedisClient, timeoutMs: number): Promise<void> {
  if (client.status === "end") return;
  try {
    await withTimeout(client.quit(), timeoutMs, "QUIT");
  } catch {
    // Unreachable or already closing: nothing left to flush.
  } finally {
    client.disconnect();
  }
}

function noop() {}

/**
 * Calls made right after construction wait (once, bounded) for the first connection; every
 * failure, refusal or timeout then surfaces as StoreUnavailableError("redis").
 */
export const rethrowUnavailable = (err: unknown): never => {
  throw unavailable(err);
};

export class CommandGate {
  private initial: Promise<void> | null;

  constructor(client: RedisClient, timeoutMs: number) {
    this.initial = firstConnection(client, timeoutMs).then(() => {
      this.initial = null;
    });
  }

  /** True once the first connection attempt settled: `run` then adds no wait. */
  get open(): boolean {
    return this.initial === null;
  }

  run<T>(op: () => Promise<T>): Promise<T> {
    // Hot path: once connected, one promise and no async frame per command.
    if (this.initial) return this.initial.then(() => this.run(op));
    let p: Promise<T>;
    try {
      p = op();
    } catch (err) {
      return Promise.reject(unavailable(err));
    }
    return p.catch(rethrowUnavailable);
  }
}
