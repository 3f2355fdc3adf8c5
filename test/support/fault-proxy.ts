import net from "node:net";

/** `up`: client → server (requests); `down`: server → client (replies). */
export type Direction = "up" | "down";
export type Directions = Direction | "both";

export interface Jitter {
  /** Each chunk waits a uniform random delay in [minMs, maxMs]; order is kept per connection. */
  minMs: number;
  maxMs: number;
  /**
   * The tail real networks have: with probability `chance` a chunk waits [minMs, maxMs] of this
   * instead (a retransmit, a GC pause on a middlebox). Later chunks of that connection wait too.
   */
  spike?: { chance: number; minMs: number; maxMs: number };
}

export interface FaultProxyOptions {
  /** Where the real server listens. */
  upstream: { host?: string; port: number };
  /** Initial jitter; none by default. */
  jitter?: Jitter;
}

export interface FaultProxyStats {
  /** Connections accepted since start. */
  accepted: number;
  /** Connections open now. */
  open: number;
  /** Chunks forwarded, both directions. */
  chunks: number;
  /** Connections destroyed by `cut()` or refused by `refuse()`. */
  cut: number;
  /** Chunks discarded by a partition. */
  dropped: number;
}

const HOST = "127.0.0.1";
const dirs = (d: Directions): Direction[] => (d === "both" ? ["up", "down"] : [d]);

/**
 * One direction of one connection: chunks leave in arrival order, each no earlier than its own
 * random delay, and not at all while the direction is stalled.
 */
class Lane {
  private readonly queue: { data: Buffer; at: number }[] = [];
  private lastAt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private ending = false;
  stalled = false;
  /** Partitioned: chunks are discarded, and the connection cannot be trusted after healing. */
  dropping = false;
  lost = false;

  constructor(
    private readonly out: net.Socket,
    private readonly proxy: FaultProxy,
  ) {}

  push(data: Buffer): void {
    if (this.dropping) {
      this.lost = true;
      this.proxy.stats.dropped++;
      return;
    }
    // Never before the previous chunk: a TCP stream's order is kept whatever the delays.
    this.lastAt = Math.max(this.lastAt, performance.now() + this.proxy.delay());
    this.queue.push({ data, at: this.lastAt });
    this.pump();
  }

  pump(): void {
    if (this.timer || this.stalled) return;
    const now = performance.now();
    while (this.queue.length && (this.queue[0] as { at: number }).at <= now + 0.5) {
      const chunk = this.queue.shift() as { data: Buffer };
      this.proxy.stats.chunks++;
      if (!this.out.destroyed) this.out.write(chunk.data);
    }
    const head = this.queue[0];
    if (!head) {
      if (this.ending) this.out.end();
      return;
    }
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.pump();
      },
      Math.max(1, head.at - now),
    );
  }

  resume(): void {
    this.stalled = false;
    // What waited during the stall leaves now, in order, each after its usual delay at most.
    const now = performance.now();
    this.lastAt = Math.max(this.lastAt, now);
    for (const c of this.queue) c.at = Math.max(c.at, now);
    this.pump();
  }

  /** The sending side closed: deliver what is queued, then close the receiving side. */
  finish(): void {
    this.ending = true;
    this.pump();
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
  }
}

interface Link {
  client: net.Socket;
  server: net.Socket;
  lanes: Record<Direction, Lane>;
}

/**
 * A TCP proxy between an app and one store (Redis, MongoDB) that misbehaves on request, for
 * tests and the bench: per-chunk random delay (cross-zone jitter) with the order of each
 * connection kept, stalls (one direction or both: held bytes, delivered on `resume`), one-way
 * partitions (bytes discarded, connections reset on `heal`), cuts (every open connection
 * destroyed), and refusing new connections.
 *
 * ```ts
 * const redis = await startRedis();
 * const proxy = await startFaultProxy({ upstream: { port: redis.port }, jitter: { minMs: 0, maxMs: 4 } });
 * const stack = await createTestStack({ redis, env: { REDIS_URL: proxy.url(redis.url) } });
 * proxy.stall("up"); …; proxy.resume();
 * proxy.partition("down"); …; proxy.heal();
 * proxy.cut();
 * ```
 */
export class FaultProxy {
  readonly stats: FaultProxyStats = { accepted: 0, open: 0, chunks: 0, cut: 0, dropped: 0 };
  private readonly links = new Set<Link>();
  private readonly stalled: Record<Direction, boolean> = { up: false, down: false };
  private readonly partitioned: Record<Direction, boolean> = { up: false, down: false };
  private jitterMs: Jitter | null;
  private refusing = false;
  private server: net.Server | null = null;
  private boundPort = 0;

  constructor(private readonly opts: FaultProxyOptions) {
    this.jitterMs = null;
    this.jitter(opts.jitter ?? null);
  }

  get port(): number {
    return this.boundPort;
  }

  get host(): string {
    return HOST;
  }

  /** `url` with its host:port replaced by the proxy's (`redis://…`, `mongodb://…?…`). */
  url(url: string): string {
    const u = new URL(url);
    u.hostname = HOST;
    u.port = String(this.boundPort);
    return u.toString();
  }

  async listen(): Promise<void> {
    const server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, HOST, () => resolve());
    });
    this.boundPort = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** Sets (or with null removes) the per-chunk delay, for chunks arriving from now on. */
  jitter(j: Jitter | null): void {
    const bad = (r: { minMs: number; maxMs: number }) => r.minMs < 0 || r.maxMs < r.minMs;
    if (j && (bad(j) || (j.spike && bad(j.spike)))) throw new Error("jitter: 0 ≤ minMs ≤ maxMs");
    this.jitterMs = j;
  }

  /** A delay for one chunk, in ms. */
  delay(): number {
    const j = this.jitterMs;
    if (!j) return 0;
    const r = j.spike && Math.random() < j.spike.chance ? j.spike : j;
    return r.minMs + Math.random() * (r.maxMs - r.minMs);
  }

  /**
   * Holds every byte going `direction` (both by default) on every connection, open or future,
   * until `resume`. Nothing is lost: TCP would retransmit after a partition heals.
   */
  stall(direction: Directions = "both"): void {
    for (const d of dirs(direction)) {
      this.stalled[d] = true;
      for (const l of this.links) l.lanes[d].stalled = true;
    }
  }

  resume(direction: Directions = "both"): void {
    for (const d of dirs(direction)) {
      this.stalled[d] = false;
      for (const l of this.links) l.lanes[d].resume();
    }
  }

  /**
   * A one-way (or two-way) partition: bytes going `direction` are discarded, on every connection
   * open or future, while the other direction still flows — requests vanish while replies come
   * (`up`), or the server acts on requests whose replies never arrive (`down`). Unlike a stall,
   * data is lost, so `heal` resets each connection that lost bytes, as TCP does once its
   * retransmissions give up; clients reconnect.
   */
  partition(direction: Directions = "both"): void {
    for (const d of dirs(direction)) {
      this.partitioned[d] = true;
      for (const l of this.links) l.lanes[d].dropping = true;
    }
  }

  /** Ends the partition of `direction` (both by default); returns the connections reset. */
  heal(direction: Directions = "both"): number {
    for (const d of dirs(direction)) {
      this.partitioned[d] = false;
      for (const l of this.links) l.lanes[d].dropping = false;
    }
    let reset = 0;
    for (const l of [...this.links]) {
      if (!l.lanes.up.lost && !l.lanes.down.lost) continue;
      if (this.partitioned.up || this.partitioned.down) continue;
      this.drop(l);
      reset++;
    }
    this.stats.cut += reset;
    return reset;
  }

  /** Stalls `direction` for `ms`, then resumes it (the slow-zone moment in one call). */
  async stallFor(ms: number, direction: Directions = "both"): Promise<void> {
    this.stall(direction);
    await Bun.sleep(ms);
    this.resume(direction);
  }

  /** Destroys every open connection (both sides see a reset); returns how many. */
  cut(): number {
    const n = this.links.size;
    for (const l of [...this.links]) this.drop(l);
    this.stats.cut += n;
    return n;
  }

  /** While on, new connections are closed as soon as they are accepted. */
  refuse(on = true): void {
    this.refusing = on;
  }

  async close(): Promise<void> {
    this.cut();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  private accept(client: net.Socket): void {
    this.stats.accepted++;
    if (this.refusing) {
      this.stats.cut++;
      client.destroy();
      return;
    }
    client.setNoDelay(true);
    const server = net.connect({
      host: this.opts.upstream.host ?? HOST,
      port: this.opts.upstream.port,
    });
    server.setNoDelay(true);
    const link: Link = {
      client,
      server,
      lanes: { up: new Lane(server, this), down: new Lane(client, this) },
    };
    link.lanes.up.stalled = this.stalled.up;
    link.lanes.down.stalled = this.stalled.down;
    link.lanes.up.dropping = this.partitioned.up;
    link.lanes.down.dropping = this.partitioned.down;
    this.links.add(link);
    this.stats.open++;
    client.on("data", (d: Buffer) => link.lanes.up.push(d));
    server.on("data", (d: Buffer) => link.lanes.down.push(d));
    // A side that closes has its queued bytes delivered before the other side is closed.
    let closed = 0;
    const onClose = (from: Direction, to: Direction) => () => {
      link.lanes[from].finish();
      link.lanes[to].clear();
      if (++closed === 2) this.drop(link);
    };
    client.on("error", () => undefined);
    server.on("error", () => undefined);
    client.on("close", onClose("up", "down"));
    server.on("close", onClose("down", "up"));
  }

  private drop(link: Link): void {
    if (!this.links.delete(link)) return;
    this.stats.open--;
    link.lanes.up.clear();
    link.lanes.down.clear();
    link.client.destroy();
    link.server.destroy();
  }
}

/** Starts a proxy on an ephemeral port of 127.0.0.1. */
export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const p = new FaultProxy(opts);
  await p.listen();
  return p;
}
