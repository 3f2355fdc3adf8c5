import { setTimeout as sleep } from "node:timers/promises";
import calculateSlot from "cluster-key-slot";
import { Cluster } from "ioredis";
import type { RedisClient } from "./connection";

const REPAIR_RETRY_MS = 500;
const VERIFY_RETRY_MS = 100;

/**
 * Redis replication is asynchronous: a master that dies (or restarts from an older snapshot) can
 * come back, or be replaced by a replica, without writes it acknowledged. The fence notices the
 * change of server before any read is served by the new one, and refuses reads until `repair`
 * (the cache engine's repair of recorded debts) has run against the new server.
 *
 * - Cluster: the master owning a key's slot must be one the fence trusts. ioredis routes a command
 *   only to the slot table's owner (or follows MOVED, which updates the table first; random-node
 *   retries are turned off in `connection.ts`), so a read from a promoted replica is seen here.
 * - Single server (standalone, Sentinel): every reconnection is verified by `INFO server`'s
 *   `run_id`; a new process (promoted replica, restarted master) is a failover.
 */
export class FailoverFence {
  private repair: (() => Promise<void>) | null = null;
  private repairing: Promise<void> | null = null;
  private trustedMasters: Set<string> | null = null;
  private verified = false;
  private verifying: Promise<void> | null = null;
  private runId: string | null = null;
  private closed = false;
  /** Failovers seen since start (for logs and tests). */
  failovers = 0;
  private enabled = true;

  /**
   * Tests only (refused unless NODE_ENV=test): removes the protection, every read allowed and
   * nothing repaired, to show that the failover test fails without it.
   */
  disableForTest(): void {
    if (process.env.NODE_ENV !== "test")
      throw new Error("the failover fence is only switched off in tests");
    this.enabled = false;
  }

  constructor(
    private readonly client: RedisClient,
    private readonly onFailover: (detail: string) => void = () => {},
  ) {
    if (client instanceof Cluster) return;
    client.on("close", () => {
      this.verified = false;
    });
    client.on("ready", () => this.startVerify());
    if (client.status === "ready") this.startVerify();
  }

  /** The verification or repair in progress, if any: a read may wait for it (bounded). */
  settling(): Promise<void> | null {
    return this.repairing ?? this.verifying;
  }

  private startVerify(): void {
    const v = this.verifyServer().finally(() => {
      if (this.verifying === v) this.verifying = null;
    });
    this.verifying = v;
  }

  /** Registers the repair that must complete before reads are trusted again. */
  setRepair(repair: () => Promise<void>): void {
    this.repair = repair;
  }

  /** True when a read of `key` may be served now; otherwise the caller answers "unavailable". */
  allows(key: string): boolean {
    if (!this.enabled) return true;
    if (this.repairing) return false;
    const client = this.client;
    if (!(client instanceof Cluster)) return this.verified;
    const owner = client.slots[calculateSlot(key)]?.[0];
    if (owner === undefined) return false;
    if (this.trustedMasters === null) {
      // First use after the initial connection: the masters of now are the baseline.
      if (client.status !== "ready") return false;
      this.trustedMasters = this.currentMasters(client);
    }
    if (this.trustedMasters.has(owner)) return true;
    this.startRepair(`slot ${calculateSlot(key)} now served by ${owner}`, () => {
      this.trustedMasters = this.currentMasters(client);
    });
    return false;
  }

  close(): void {
    this.closed = true;
  }

  private currentMasters(cluster: Cluster): Set<string> {
    const masters = new Set<string>();
    for (const nodes of cluster.slots) if (nodes?.[0]) masters.add(nodes[0]);
    return masters;
  }

  private async verifyServer(): Promise<void> {
    const client = this.client;
    if (client instanceof Cluster || this.closed) return;
    let runId: string | undefined;
    for (;;) {
      try {
        runId = /run_id:(\w+)/.exec(await client.info("server"))?.[1];
        break;
      } catch {
        // A timeout on a busy server: ask again while connected; after a drop, the next "ready"
        // verifies.
        if (this.closed || client.status !== "ready") return;
        await sleep(VERIFY_RETRY_MS);
      }
    }
    if (!runId) return;
    if (this.runId === null || this.runId === runId) {
      this.runId = runId;
      this.verified = true;
      return;
    }
    this.startRepair(`server ${this.runId.slice(0, 8)} replaced by ${runId.slice(0, 8)}`, () => {
      this.runId = runId;
      this.verified = true;
    });
  }

  private startRepair(detail: string, trust: () => void): void {
    if (this.repairing) return;
    this.failovers++;
    this.onFailover(detail);
    this.repairing = (async () => {
      while (!this.closed) {
        try {
          await this.repair?.();
          trust();
          return;
        } catch {
          // MongoDB or the new master not ready yet: reads stay fenced, try again.
          await sleep(REPAIR_RETRY_MS);
        }
      }
    })().finally(() => {
      this.repairing = null;
    });
  }
}
