import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port";
import { ManagedNode, type RedisNodeHandle, requireBinary, until } from "./redis-cluster";
import { withClient } from "./redis-server";

export interface RedisSentinelHarness {
  /** `REDIS_SENTINELS` value: every sentinel's `host:port`. */
  readonly sentinels: string;
  /** `REDIS_SENTINEL_NAME` value. */
  readonly name: string;
  readonly prefix: string;
  /** The data servers (initially: master first, then its replicas). */
  readonly servers: readonly RedisNodeHandle[];
  readonly sentinelNodes: readonly RedisNodeHandle[];
  /** The master the sentinels currently name. */
  master(): Promise<RedisNodeHandle>;
  /**
   * SIGKILLs the current master and resolves once the sentinels announced `+switch-master` and
   * name a replica; resolves with how long that took.
   */
  failover(opts?: { timeoutMs?: number; afterKill?: () => Promise<void> | void }): Promise<number>;
  /** The servers replicating from the current master. */
  replicas(): Promise<RedisNodeHandle[]>;
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export interface RedisSentinelOptions {
  replicas?: number;
  sentinels?: number;
  /** `down-after-milliseconds`: how long a silent master takes to be declared down. */
  downAfterMs?: number;
}

const HOST = "127.0.0.1";

/**
 * A real Sentinel deployment owned by the test: a master, its replicas (`--replicaof`) and
 * `sentinels` `redis-server --sentinel` processes monitoring it with a majority quorum.
 */
export async function startRedisSentinel(
  opts: RedisSentinelOptions = {},
): Promise<RedisSentinelHarness> {
  const bin = requireBinary("redis-server");
  const dir = mkdtempSync(join(tmpdir(), "cs-sentinel-"));
  const name = "csmaster";
  const sentinelCount = opts.sentinels ?? 3;
  const masterPort = await freePort();
  const servers = [new ManagedNode(bin, masterPort, dir, [])];
  for (let i = 0; i < (opts.replicas ?? 1); i++) {
    servers.push(
      new ManagedNode(bin, await freePort(), dir, ["--replicaof", HOST, String(masterPort)]),
    );
  }
  const sentinelNodes: ManagedNode[] = [];
  for (let i = 0; i < sentinelCount; i++) {
    const port = await freePort();
    // Sentinel rewrites its config file, so each gets its own.
    const conf = join(dir, `sentinel-${port}.conf`);
    writeFileSync(
      conf,
      [
        `sentinel monitor ${name} ${HOST} ${masterPort} ${Math.floor(sentinelCount / 2) + 1}`,
        `sentinel down-after-milliseconds ${name} ${opts.downAfterMs ?? 1000}`,
        `sentinel failover-timeout ${name} 10000`,
        `sentinel parallel-syncs ${name} 1`,
        "",
      ].join("\n"),
    );
    sentinelNodes.push(new ManagedNode(bin, port, dir, [conf, "--sentinel"]));
  }
  const harness = new SentinelHarness(name, servers, sentinelNodes, dir);
  try {
    await Promise.all(servers.map((s) => s.start()));
    await Promise.all(sentinelNodes.map((s) => s.start()));
    await harness.waitMonitoring(servers.length - 1, sentinelCount - 1);
    return harness;
  } catch (err) {
    await harness.stop();
    throw err;
  }
}

class SentinelHarness implements RedisSentinelHarness {
  readonly sentinels: string;
  readonly prefix = `t:${crypto.randomUUID().slice(0, 8)}:`;
  private stopped = false;

  constructor(
    readonly name: string,
    readonly servers: ManagedNode[],
    readonly sentinelNodes: ManagedNode[],
    private readonly dir: string,
  ) {
    this.sentinels = sentinelNodes.map((s) => s.address).join(",");
  }

  /** Every sentinel knows the replicas (synced) and the other sentinels: a failover can happen. */
  async waitMonitoring(replicas: number, peers: number): Promise<void> {
    await until(30_000, "the sentinels to see the replicas and each other", async () => {
      for (const s of this.sentinelNodes.filter((n) => n.running)) {
        const ok = await withClient(s.url, async (c) => {
          const reps = (await c.call("SENTINEL", "REPLICAS", this.name)) as string[][];
          const others = (await c.call("SENTINEL", "SENTINELS", this.name)) as string[][];
          const synced = reps.filter((r) => field(r, "master-link-status") === "ok");
          return synced.length >= replicas && others.length >= peers;
        });
        if (!ok) return false;
      }
      return true;
    });
  }

  async master(): Promise<ManagedNode> {
    const address = await this.masterAddress();
    const node = this.servers.find((s) => s.address === address);
    if (!node) throw new Error(`sentinels name an unknown master ${address}`);
    return node;
  }

  async replicas(): Promise<ManagedNode[]> {
    const m = await this.master();
    return this.servers.filter((s) => s !== m && s.running);
  }

  async failover(
    opts: { timeoutMs?: number; afterKill?: () => Promise<void> | void } = {},
  ): Promise<number> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const old = await this.master();
    const watcher = this.sentinelNodes[0];
    if (!watcher) throw new Error("no sentinel");
    const started = performance.now();
    // Announced on every sentinel's own pub/sub; one subscription is enough to see it.
    const { default: Redis } = await import("ioredis");
    const sub = new Redis(watcher.url, { maxRetriesPerRequest: null });
    sub.on("error", () => {});
    try {
      const switched = new Promise<void>((resolve) => {
        sub.on("message", (_channel: string, msg: string) => {
          // "<name> <old-ip> <old-port> <new-ip> <new-port>"
          if (msg.startsWith(`${this.name} `)) resolve();
        });
      });
      await sub.subscribe("+switch-master");
      await old.kill();
      await opts.afterKill?.();
      await Promise.race([
        switched,
        Bun.sleep(timeoutMs).then(() => {
          throw new Error(`no +switch-master within ${timeoutMs} ms`);
        }),
      ]);
      // The new master accepts writes (it may take a moment to leave read-only replica mode).
      const heir = await this.master();
      await until(timeoutMs, `${heir.address} to act as master`, () =>
        withClient(heir.url, async (c) => (await c.info("replication")).includes("role:master")),
      );
      return performance.now() - started;
    } finally {
      sub.disconnect();
    }
  }

  async flush(): Promise<void> {
    const m = await this.master();
    await withClient(m.url, (c) => c.flushall());
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(
      [...this.sentinelNodes, ...this.servers].map((n) => n.kill().catch(() => {})),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async masterAddress(): Promise<string> {
    for (const s of this.sentinelNodes.filter((n) => n.running && !n.paused)) {
      try {
        const reply = (await withClient(s.url, (c) =>
          c.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", this.name),
        )) as [string, string] | null;
        if (reply) return `${reply[0]}:${reply[1]}`;
      } catch {
        // Try the next sentinel.
      }
    }
    throw new Error("no sentinel answered");
  }
}

/** SENTINEL REPLICAS replies flat [name, value, name, value …] arrays. */
function field(flat: string[], name: string): string | undefined {
  const i = flat.indexOf(name);
  return i >= 0 ? flat[i + 1] : undefined;
}
