import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { forgetRedisProcess, spawnRedis, withClient } from "./redis-server";

/** One `redis-server` of a harness (cluster node, sentinel-monitored server or sentinel). */
export interface RedisNodeHandle {
  readonly port: number;
  /** `host:port`, as Redis reports it. */
  readonly address: string;
  /** `redis://host:port` of this one node. */
  readonly url: string;
  readonly running: boolean;
  /** SIGKILL: no shutdown, no final replication. Resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGSTOP: the socket stays open, nothing answers. */
  pause(): void;
  resume(): void;
  /** Starts it again on the same port with the same config (a cluster node rejoins). */
  restart(): Promise<void>;
}

export interface RedisClusterHarness {
  /** Every node, masters and replicas, in creation order. */
  readonly nodes: readonly RedisNodeHandle[];
  /** `REDIS_CLUSTER_NODES` value: every node's `host:port`, comma separated. */
  readonly seeds: string;
  /** `redis://` URL of the first node (a seed, for REDIS_URL detection). */
  readonly url: string;
  /** Random key prefix for this harness (ends with ":"). */
  readonly prefix: string;
  /** Current masters as reported by a live node (`CLUSTER NODES`). */
  masters(): Promise<RedisNodeHandle[]>;
  /** The node serving `key`'s slot now. */
  masterOf(key: string): Promise<RedisNodeHandle>;
  /**
   * SIGKILLs `node` (a master) and resolves once one of its replicas has taken over its slots and
   * the cluster is `ok` again; resolves with how long that took.
   */
  failover(
    node: RedisNodeHandle,
    opts?: { timeoutMs?: number; afterKill?: () => Promise<void> | void },
  ): Promise<number>;
  /** The replicas attached to `master` now. */
  replicasOf(master: RedisNodeHandle): Promise<RedisNodeHandle[]>;
  /** Resolves once every live node reports `cluster_state:ok` and sees the same masters. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** FLUSHALL on every live master. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  masters?: number;
  /** Replicas per master. */
  replicas?: number;
  /** `cluster-node-timeout`: how long a silent master takes to be failed over. */
  nodeTimeoutMs?: number;
  /**
   * `cluster-require-full-coverage` (default false here: the other masters keep serving while one
   * shard fails over, the harder case for the cache, since only some keys fail).
   */
  requireFullCoverage?: boolean;
}

const HOST = "127.0.0.1";

/**
 * A real Redis Cluster owned by the test: `masters × (1 + replicas)` `redis-server
 * --cluster-enabled yes` processes on free ports, joined with `redis-cli --cluster create`.
 * Its nodes can be killed, paused and restarted; `failover()` waits for a replica to take over.
 */
export async function startRedisCluster(
  opts: RedisClusterOptions = {},
): Promise<RedisClusterHarness> {
  const masters = opts.masters ?? 3;
  const replicas = opts.replicas ?? 1;
  const nodeTimeout = opts.nodeTimeoutMs ?? 1000;
  const bin = requireBinary("redis-server");
  const cli = requireBinary("redis-cli");
  const dir = mkdtempSync(join(tmpdir(), "cs-cluster-"));
  const nodes: ManagedNode[] = [];
  const taken = new Set<number>();
  for (let i = 0; i < masters * (1 + replicas); i++) {
    const port = await freeClusterPort(taken);
    nodes.push(
      new ManagedNode(bin, port, dir, [
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        `nodes-${port}.conf`,
        "--cluster-node-timeout",
        String(nodeTimeout),
        // A replica takes over however long it was disconnected: tests kill masters at will.
        "--cluster-replica-validity-factor",
        "0",
        "--cluster-require-full-coverage",
        opts.requireFullCoverage ? "yes" : "no",
        "--cluster-allow-replica-migration",
        "no",
      ]),
    );
  }
  try {
    await Promise.all(nodes.map((n) => n.start()));
    const create = Bun.spawn(
      [
        cli,
        "--cluster",
        "create",
        ...nodes.map((n) => n.address),
        "--cluster-replicas",
        String(replicas),
        "--cluster-yes",
      ],
      { stdout: "pipe", stderr: "pipe", stdin: "ignore" },
    );
    const [code, out, err] = await Promise.all([
      create.exited,
      new Response(create.stdout).text(),
      new Response(create.stderr).text(),
    ]);
    if (code !== 0) throw new Error(`redis-cli --cluster create failed: ${out}${err}`.slice(-2000));
    const harness = new ClusterHarness(nodes, dir, masters);
    await harness.waitHealthy(30_000);
    return harness;
  } catch (err) {
    await Promise.all(nodes.map((n) => n.kill().catch(() => {})));
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

class ClusterHarness implements RedisClusterHarness {
  readonly seeds: string;
  readonly url: string;
  readonly prefix = `t:${crypto.randomUUID().slice(0, 8)}:`;
  private stopped = false;

  constructor(
    readonly nodes: ManagedNode[],
    private readonly dir: string,
    private readonly masterCount: number,
  ) {
    this.seeds = nodes.map((n) => n.address).join(",");
    this.url = `redis://${nodes[0]?.address}`;
  }

  async masters(): Promise<ManagedNode[]> {
    const view = await this.view();
    return view.masters.map((m) => this.byAddress(m.address));
  }

  async masterOf(key: string): Promise<ManagedNode> {
    const live = this.live();
    const slot = await withClient(live.url, (c) => c.cluster("KEYSLOT", key));
    const view = await this.view();
    const owner = view.masters.find((m) =>
      m.slots.some(([lo, hi]) => slot >= lo && slot <= (hi ?? lo)),
    );
    if (!owner) throw new Error(`no master serves slot ${slot}`);
    return this.byAddress(owner.address);
  }

  async replicasOf(master: RedisNodeHandle): Promise<ManagedNode[]> {
    const view = await this.view();
    const m = view.masters.find((x) => x.address === master.address);
    return (m?.replicaAddresses ?? []).map((a) => this.byAddress(a));
  }

  async failover(
    node: RedisNodeHandle,
    opts: { timeoutMs?: number; afterKill?: () => Promise<void> | void } = {},
  ): Promise<number> {
    const timeoutMs = opts.timeoutMs ?? 20_000;
    const before = await this.view();
    const victim = before.masters.find((m) => m.address === node.address);
    if (!victim) throw new Error(`${node.address} is not a master`);
    const started = performance.now();
    await node.kill();
    await opts.afterKill?.();
    await until(timeoutMs, `a replica of ${node.address} to take over`, async () => {
      const after = await this.view();
      const heir = after.masters.find(
        (m) => m.address !== node.address && m.slots.some(([lo]) => lo === victim.slots[0]?.[0]),
      );
      return !!heir && after.ok;
    });
    return performance.now() - started;
  }

  async waitHealthy(timeoutMs = 20_000): Promise<void> {
    await until(timeoutMs, "cluster_state:ok on every live node", async () => {
      const views = await Promise.all(this.nodes.filter((n) => n.running).map((n) => nodeView(n)));
      const first = views[0];
      if (!first) return false;
      const signature = (v: ClusterView) =>
        v.masters
          .map((m) => `${m.address}:${m.replicas}`)
          .sort()
          .join(",");
      return (
        views.every((v) => v.ok && signature(v) === signature(first)) &&
        first.masters.length === this.masterCount &&
        // Every running non-master is an attached replica, so a failover can happen.
        first.masters.reduce((sum, m) => sum + m.replicas, 0) ===
          this.nodes.filter((n) => n.running).length - this.masterCount &&
        (await this.replicasSynced(first))
      );
    });
  }

  /** Each replica finished its initial sync (`master_link_status:up`), so WAIT can succeed. */
  private async replicasSynced(view: ClusterView): Promise<boolean> {
    const replicas = view.masters.flatMap((m) => m.replicaAddresses.map((a) => this.byAddress(a)));
    const links = await Promise.all(
      replicas.map((r) => withClient(r.url, (c) => c.info("replication"))),
    );
    return links.every((info) => info.includes("master_link_status:up"));
  }

  async flush(): Promise<void> {
    const masters = await this.masters();
    await Promise.all(masters.map((m) => withClient(m.url, (c) => c.flushall())));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.nodes.map((n) => n.kill().catch(() => {})));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private view(): Promise<ClusterView> {
    return nodeView(this.live());
  }

  private live(): ManagedNode {
    const node = this.nodes.find((n) => n.running && !n.paused);
    if (!node) throw new Error("no cluster node is running");
    return node;
  }

  private byAddress(address: string): ManagedNode {
    const node = this.nodes.find((n) => n.address === address);
    if (!node) throw new Error(`unknown cluster node ${address}`);
    return node;
  }
}

interface MasterView {
  address: string;
  slots: [number, number?][];
  replicas: number;
  replicaAddresses: string[];
}

interface ClusterView {
  ok: boolean;
  masters: MasterView[];
}

/** One node's opinion: `CLUSTER INFO` state and the masters (with synced replicas) of `CLUSTER NODES`. */
async function nodeView(node: ManagedNode): Promise<ClusterView> {
  return withClient(node.url, async (c) => {
    const info = String(await c.cluster("INFO"));
    const lines = String(await c.cluster("NODES"))
      .trim()
      .split("\n")
      .map((l) => l.split(" "));
    const addressOf = (f: string[]) => (f[1] ?? "").split("@")[0] ?? "";
    const healthy = (f: string[]) => !/fail|handshake|noaddr/.test(f[2] ?? "");
    const masters = lines
      .filter((f) => (f[2] ?? "").includes("master") && healthy(f) && f.length > 8)
      .map((f) => {
        const replicaAddresses = lines
          .filter((r) => r[3] === f[0] && healthy(r) && r[7] === "connected")
          .map(addressOf);
        return {
          address: addressOf(f),
          slots: f
            .slice(8)
            .filter((s) => !s.startsWith("["))
            .map((s) => s.split("-").map(Number) as [number, number?]),
          replicas: replicaAddresses.length,
          replicaAddresses,
        };
      });
    return { ok: info.includes("cluster_state:ok"), masters };
  });
}

/** A `redis-server` the harness can kill and restart on its port with the same arguments. */
export class ManagedNode implements RedisNodeHandle {
  readonly address: string;
  readonly url: string;
  paused = false;
  private proc: Subprocess | undefined;

  constructor(
    private readonly bin: string,
    readonly port: number,
    private readonly dir: string,
    private readonly args: readonly string[],
  ) {
    this.address = `${HOST}:${port}`;
    this.url = `redis://${this.address}`;
  }

  get running(): boolean {
    return this.proc !== undefined;
  }

  async start(): Promise<void> {
    this.proc = await spawnRedis(this.bin, this.port, this.args, this.dir);
  }

  async kill(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    this.paused = false;
    if (!p) return;
    p.kill("SIGKILL");
    await p.exited;
    forgetRedisProcess(p);
  }

  pause(): void {
    this.proc?.kill("SIGSTOP");
    this.paused = true;
  }

  resume(): void {
    this.proc?.kill("SIGCONT");
    this.paused = false;
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }
}

/**
 * A cluster node also listens on port + 10000 (the cluster bus), so both must be free; ports are
 * drawn from 20000–22767 so the bus ports (30000–32767) stay below the OS ephemeral range too.
 */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 2768);
    if (taken.has(port)) continue;
    if ((await canBind(port)) && (await canBind(port + 10_000))) {
      taken.add(port);
      return port;
    }
  }
  throw new Error("no free port pair (port, port + 10000) for a cluster node");
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    srv.listen(port, HOST, () => srv.close(() => resolve(true)));
  });
}

export function requireBinary(name: string): string {
  const bin = Bun.which(name);
  if (!bin) throw new Error(`${name} not found on PATH: install redis-server (apt install redis)`);
  return bin;
}

/** Polls `check` (errors count as "not yet") until true, or throws naming `what`. */
export async function until(
  timeoutMs: number,
  what: string,
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await Bun.sleep(50);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last})` : ""}`,
  );
}
