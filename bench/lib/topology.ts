import { startRedisCluster } from "../../test/support/redis-cluster";
import { harnessOnCluster, type RedisHarness, startRedis } from "../../test/support/redis-server";

/**
 * Which Redis a section's servers are: `bun run bench` runs every section on a standalone
 * redis-server, then the sections with targets again on a Redis Cluster (the targets hold
 * on both), set here by the runner before it loads them.
 */
export type BenchTopology = "standalone" | "cluster";

let current: BenchTopology = "standalone";

export function setBenchTopology(t: BenchTopology): void {
  current = t;
}

export function benchTopology(): BenchTopology {
  return current;
}

/**
 * A Redis owned by the section on the current topology: one redis-server, or 3 masters + 3
 * replicas (local processes) whose `stop()` stops the whole cluster. Its `env` points a server
 * process at it (REDIS_URL, or REDIS_CLUSTER_NODES with REDIS_URL empty).
 */
export async function startBenchRedis(): Promise<RedisHarness> {
  if (current === "standalone") return startRedis();
  const cluster = await startRedisCluster({ masters: 3, replicas: 1 });
  const harness = harnessOnCluster(cluster, {
    // An empty REDIS_URL counts as unset: a server process gets only the cluster's nodes.
    env: { REDIS_URL: "", REDIS_CLUSTER_NODES: cluster.seeds },
  });
  return {
    ...harness,
    async stop() {
      await harness.stop();
      await cluster.stop();
    },
  };
}
