import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import Redis from "ioredis";
import { type RedisTopology, topologyFromSettings } from "../../src/adapters/redis/topology";
import { freePort } from "./free-port";
import { type RedisClusterHarness, startRedisCluster } from "./redis-cluster";
import type { RedisSentinelHarness } from "./redis-sentinel";

/**
 * A real Redis for a test suite.
 *
 * Owned (no `REDIS_URL`): a `redis-server` child on its own port, so a test can kill, pause and
 * restart it. `flush()` is FLUSHALL: the whole server belongs to the suite.
 *
 * Shared (`REDIS_URL` set): the server may hold someone else's data, so FLUSHDB is never sent;
 * suites put their keys under `prefix` (random per harness) and `flush()` deletes only those,
 * with SCAN + UNLINK. The process cannot be signalled, so kill/pause/resume/restart throw.
 *
 * Either way, `prefix` is unique per harness: suites that always namespace keys with it behave
 * the same on both.
 */
export interface RedisHarness {
  /**
   * A server URL. Under `REDIS_TOPOLOGY=cluster`, a cluster node's: the app detects it and uses
   * it as a cluster seed; adapters built by hand take `adapter` instead.
   */
  readonly url: string;
  /** Options that point an adapter (RedisCacheStore, RedisEventBus) at this Redis, any topology. */
  readonly adapter: { url?: string; topology?: RedisTopology };
  /** The deployment behind this harness. */
  readonly topology: "standalone" | "cluster" | "sentinel";
  /** The environment that points the app at it (REDIS_URL, or the cluster / sentinel variables). */
  readonly env: Record<string, string>;
  readonly port: number;
  readonly owned: boolean;
  /** Random key prefix for this harness (ends with ":"). */
  readonly prefix: string;
  /** SIGKILL, resolves when the process has exited. */
  kill(): Promise<void>;
  /** SIGSTOP: the socket stays open but nothing answers (a hung server). */
  pause(): void;
  /** SIGCONT after `pause()`. */
  resume(): void;
  /**
   * Starts again on the same port; like a real crash, the data is gone — unless started with
   * `aof`, where it comes back with every write it acknowledged.
   */
  restart(): Promise<void>;
  flush(): Promise<void>;
  /** Final: kills the server (owned) and releases the harness. Safe twice. */
  stop(): Promise<void>;
}

/**
 * `REDIS_TOPOLOGY=cluster bun run test`: every suite runs on one 6-node Redis Cluster started for
 * the test process (test/support/redis-cluster.ts); like a shared REDIS_URL, the processes are
 * not the suite's to kill, and keys live under the harness prefix.
 */
export const onTestCluster = process.env.REDIS_TOPOLOGY === "cluster";

/** `REDIS_TOPOLOGY=sentinel bun run test`: the same on one Sentinel deployment (master + replica). */
export const onTestSentinel = process.env.REDIS_TOPOLOGY === "sentinel";

/** Suites gate process-owning tests with `test.if(ownsRedis)`. */
export const ownsRedis = !process.env.REDIS_URL && !onTestCluster && !onTestSentinel;

const READY_TIMEOUT_MS = 10_000;
const live = new Set<Subprocess>();
let exitHooksInstalled = false;
let sharedNoticePrinted = false;

/**
 * `single`: a suite whose subject is one server (a proxy in front of it, a server it pauses) gets
 * its own `redis-server` under `REDIS_TOPOLOGY=cluster` too; a shared `REDIS_URL` still wins.
 * `aof` (owned servers): an append-only file fsynced before each reply, in a directory of its own,
 * so `restart()` brings back everything acknowledged, as a persisted production server would.
 */
export async function startRedis(
  opts: { port?: number; single?: boolean; aof?: boolean } = {},
): Promise<RedisHarness> {
  const prefix = `t:${crypto.randomUUID().slice(0, 8)}:`;
  const envUrl = process.env.REDIS_URL;
  if (envUrl) return sharedHarness(envUrl, prefix);
  if (onTestCluster && !opts.single) return testClusterHarness(prefix);
  if (onTestSentinel && !opts.single) return testSentinelHarness(prefix);
  const bin = Bun.which("redis-server");
  if (!bin) {
    throw new Error(
      "redis-server not found on PATH and REDIS_URL not set: install redis-server (apt install redis-server) or set REDIS_URL",
    );
  }
  return ownedHarness(bin, opts.port ?? (await freePort()), prefix, opts.aof ?? false);
}

async function ownedHarness(
  bin: string,
  port: number,
  prefix: string,
  aof: boolean,
): Promise<RedisHarness> {
  installExitHooks();
  const url = `redis://127.0.0.1:${port}`;
  const dir = aof ? mkdtempSync(join(tmpdir(), "cs-aof-")) : undefined;
  const spawn = () =>
    aof
      ? spawnRedis(bin, port, ["--appendonly", "yes", "--appendfsync", "always"], dir)
      : spawnRedis(bin, port);
  let proc: Subprocess | undefined = await spawn();
  let stopped = false;

  const running = (what: string): Subprocess => {
    if (stopped) throw new Error(`redis harness on port ${port} is stopped; cannot ${what}`);
    if (!proc)
      throw new Error(`redis-server on port ${port} is not running (killed); cannot ${what}`);
    return proc;
  };
  const killProc = async () => {
    const p = proc;
    proc = undefined;
    if (!p) return;
    p.kill("SIGKILL");
    await p.exited;
    live.delete(p);
  };

  return {
    url,
    adapter: { url },
    topology: "standalone",
    env: { REDIS_URL: url },
    port,
    owned: true,
    prefix,
    kill: async () => {
      running("kill");
      await killProc();
    },
    pause: () => void running("pause").kill("SIGSTOP"),
    resume: () => void running("resume").kill("SIGCONT"),
    restart: async () => {
      if (stopped) throw new Error(`redis harness on port ${port} is stopped; cannot restart`);
      await killProc();
      proc = await spawn();
    },
    flush: async () => {
      running("flush");
      await withClient(url, (c) => c.flushall());
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await killProc();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function sharedHarness(url: string, prefix: string): RedisHarness {
  if (!sharedNoticePrinted) {
    sharedNoticePrinted = true;
    console.warn(
      `REDIS_URL is set: using ${redactUrl(url)} with key prefix ${prefix}; tests that kill, pause or restart redis-server are skipped`,
    );
  }
  const notOwned = (what: string) => () => {
    throw new Error(
      `cannot ${what} Redis: REDIS_URL is set, so the harness does not own the process (gate with ownsRedis)`,
    );
  };
  const parsed = new URL(url);
  return {
    url,
    adapter: { url },
    topology: "standalone",
    env: { REDIS_URL: url },
    port: Number(parsed.port || 6379),
    owned: false,
    prefix,
    kill: async () => notOwned("kill")(),
    pause: notOwned("pause"),
    resume: notOwned("resume"),
    restart: async () => notOwned("restart")(),
    flush: () => withClient(url, (c) => deleteByPrefix(c, prefix)),
    stop: () => withClient(url, (c) => deleteByPrefix(c, prefix)).catch(() => {}),
  };
}

let testCluster: Promise<RedisClusterHarness> | null = null;

/**
 * Starts the shared test cluster once per test process. Called from the test preload
 * (test/support/preload.ts): bun test kills what a test file spawned when that file ends, so a
 * cluster shared by every file must be started before the first one.
 */
export function startTestCluster(): Promise<RedisClusterHarness> {
  testCluster ??= startRedisCluster({ masters: 3, replicas: 1 }).catch((err) => {
    testCluster = null; // the next suite tries again rather than inheriting the failure
    throw err;
  });
  return testCluster;
}

async function testClusterHarness(prefix: string): Promise<RedisHarness> {
  const cluster = await startTestCluster();
  if (!sharedNoticePrinted) {
    sharedNoticePrinted = true;
    console.warn(
      `REDIS_TOPOLOGY=cluster: suites run on a Redis Cluster (${cluster.seeds}); tests that kill, pause or restart redis-server are skipped`,
    );
  }
  // REDIS_URL at a node: the app's cluster detection is exercised by every suite. A longer
  // command timeout (unless a suite sets its own): WAIT gets 60 % of it, and the six cluster
  // processes share the machine's cores with the whole suite.
  return harnessOnCluster(cluster, {
    env: { REDIS_URL: cluster.url, REDIS_TIMEOUT_MS: "500" },
    prefix,
  });
}

let testSentinel: Promise<RedisSentinelHarness> | null = null;

/** The Sentinel counterpart of `startTestCluster` (started from the preload too). */
export function startTestSentinel(): Promise<RedisSentinelHarness> {
  testSentinel ??= import("./redis-sentinel")
    .then(({ startRedisSentinel }) => startRedisSentinel())
    .catch((err) => {
      testSentinel = null;
      throw err;
    });
  return testSentinel;
}

async function testSentinelHarness(prefix: string): Promise<RedisHarness> {
  const sentinel = await startTestSentinel();
  if (!sharedNoticePrinted) {
    sharedNoticePrinted = true;
    console.warn(
      `REDIS_TOPOLOGY=sentinel: suites run on a Sentinel deployment (${sentinel.sentinels}); tests that kill, pause or restart redis-server are skipped`,
    );
  }
  // The longer command timeout for the same reason as on the cluster (WAIT on a loaded machine).
  return harnessOnSentinel(sentinel, { env: { REDIS_TIMEOUT_MS: "500" }, prefix });
}

/**
 * A RedisHarness view of a cluster the test started itself (for createTestStack); the nodes are
 * killed through the cluster harness, so kill/pause/restart here throw.
 */
export function harnessOnCluster(
  cluster: RedisClusterHarness,
  opts: { env?: Record<string, string>; prefix?: string } = {},
): RedisHarness {
  const prefix = opts.prefix ?? cluster.prefix;
  const flushPrefix = async () => {
    const masters = await cluster.masters();
    await Promise.all(masters.map((m) => withClient(m.url, (c) => deleteByPrefix(c, prefix))));
  };
  return {
    url: cluster.url,
    adapter: { topology: topologyFromSettings({ REDIS_CLUSTER_NODES: cluster.seeds }) },
    topology: "cluster",
    env: opts.env ?? { REDIS_CLUSTER_NODES: cluster.seeds },
    port: cluster.nodes[0]?.port ?? 0,
    owned: false,
    prefix,
    ...notOwnedOps("the cluster's nodes are signalled through its own harness"),
    flush: flushPrefix,
    stop: () => flushPrefix().catch(() => {}),
  };
}

/** The same for a Sentinel deployment (`env` is added to the sentinel variables). */
export function harnessOnSentinel(
  sentinel: RedisSentinelHarness,
  opts: { env?: Record<string, string>; prefix?: string } = {},
): RedisHarness {
  const env = { REDIS_SENTINELS: sentinel.sentinels, REDIS_SENTINEL_NAME: sentinel.name };
  const prefix = opts.prefix ?? sentinel.prefix;
  const master = () => sentinel.master();
  return {
    get url() {
      return sentinel.servers[0]?.url ?? "";
    },
    adapter: { topology: topologyFromSettings(env) },
    topology: "sentinel",
    env: { ...env, ...opts.env },
    port: sentinel.servers[0]?.port ?? 0,
    owned: false,
    prefix,
    ...notOwnedOps("the servers are signalled through the sentinel harness"),
    flush: async () => withClient((await master()).url, (c) => deleteByPrefix(c, prefix)),
    stop: async () => {
      await withClient((await master()).url, (c) => deleteByPrefix(c, prefix)).catch(() => {});
    },
  };
}

function notOwnedOps(why: string) {
  const refuse = (what: string) => () => {
    throw new Error(`cannot ${what} through this RedisHarness: ${why}`);
  };
  return {
    kill: async () => refuse("kill")(),
    pause: refuse("pause"),
    resume: refuse("resume"),
    restart: async () => refuse("restart")(),
  };
}

async function deleteByPrefix(client: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", `${escapeGlob(prefix)}*`, "COUNT", 500);
    cursor = next;
    // One key per UNLINK: on a cluster node, keys of one SCAN step may span slots.
    await Promise.all(keys.map((k) => client.unlink(k)));
  } while (cursor !== "0");
}

/**
 * Starts `redis-server` on `port` and resolves once it answers PING; `extraArgs` are appended to
 * the command line (cluster or sentinel settings). Killed with the test process at the latest.
 */
export async function spawnRedis(
  bin: string,
  port: number,
  extraArgs: readonly string[] = [],
  dir: string = tmpdir(),
): Promise<Subprocess> {
  installExitHooks();
  const proc = Bun.spawn(
    [
      bin,
      ...(extraArgs[0]?.endsWith(".conf") ? [extraArgs[0]] : []),
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
      "--loglevel",
      "warning",
      ...(extraArgs[0]?.endsWith(".conf") ? extraArgs.slice(1) : extraArgs),
    ],
    { stdout: "pipe", stderr: "pipe", stdin: "ignore" },
  );
  live.add(proc);
  // Drained continuously so a chatty server never blocks on a full pipe; kept for error messages.
  const log = { text: "" };
  void drain(proc.stdout, log);
  void drain(proc.stderr, log);

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) break;
    if (await answersPing(port)) return proc;
    await Bun.sleep(20);
  }
  proc.kill("SIGKILL");
  await proc.exited;
  live.delete(proc);
  throw new Error(
    `redis-server did not answer PING on port ${port} within ${READY_TIMEOUT_MS} ms (exit ${proc.exitCode ?? proc.signalCode}): ${log.text.trim().slice(-2000)}`,
  );
}

async function drain(
  stream: ReadableStream<Uint8Array> | number | undefined,
  log: { text: string },
) {
  if (!stream || typeof stream === "number") return;
  const decoder = new TextDecoder();
  for await (const chunk of stream) log.text = (log.text + decoder.decode(chunk)).slice(-8000);
}

/** Raw RESP inline PING: no client library retry logic in the readiness loop. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    let reply = "";
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 500);
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (d) => {
      reply += d.toString();
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
    });
    socket.on("error", () => done(false));
  });
}

/** Forgets a process the caller killed itself (so the exit hook does not signal a reused pid). */
export function forgetRedisProcess(proc: Subprocess): void {
  live.delete(proc);
}

export async function withClient<T>(url: string, fn: (c: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on("error", () => {});
  try {
    await client.connect();
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

/** Orphaned redis-servers would outlive `bun test`; kill whatever is still ours on the way out. */
function installExitHooks() {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  const killAll = () => {
    for (const p of live) p.kill("SIGKILL");
    live.clear();
  };
  process.on("exit", killAll);
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(code);
    });
  }
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, "\\$&");
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@");
}
