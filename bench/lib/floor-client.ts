import Redis, { Cluster } from "ioredis";

/**
 * The floors' own Redis client: plain ioredis, configured like the adapter's command client, on
 * whatever the bench runs on — a Cluster client when `REDIS_CLUSTER_NODES` is set (a cluster
 * harness's variables), else `REDIS_URL`. Used by sections and by the floor server processes.
 */
export type FloorClient = Redis | Cluster;

export function floorClient(
  vars: Record<string, string | undefined>,
  autoPipelining: boolean,
): FloorClient {
  const nodes = vars.REDIS_CLUSTER_NODES;
  const client: FloorClient = nodes
    ? new Cluster(
        nodes.split(",").map((hp) => {
          const [host = "127.0.0.1", port = "6379"] = hp.trim().split(":");
          return { host, port: Number(port) };
        }),
        {
          enableAutoPipelining: autoPipelining,
          enableOfflineQueue: true,
          redisOptions: { maxRetriesPerRequest: 0 },
        },
      )
    : new Redis(vars.REDIS_URL as string, {
        enableAutoPipelining: autoPipelining,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: true,
      });
  client.on("error", () => {});
  return client;
}

/**
 * The values of `keys` in one round trip per node: one MGET on a single server; on a cluster,
 * where an MGET across slots is refused, a GET per key sent in the same tick (auto-pipelining
 * batches them per node), as the adapter's split MGET does.
 */
export function readKeys(client: FloorClient, keys: readonly string[]): Promise<(string | null)[]> {
  if (client instanceof Cluster) return Promise.all(keys.map((k) => client.get(k)));
  return client.mget(...keys);
}

/** `KEYS pattern` over every master (bench set-up only: never on a serving path). */
export async function keysMatching(client: FloorClient, pattern: string): Promise<string[]> {
  if (!(client instanceof Cluster)) return client.keys(pattern);
  const perNode = await Promise.all(client.nodes("master").map((n) => n.keys(pattern)));
  return perNode.flat();
}
