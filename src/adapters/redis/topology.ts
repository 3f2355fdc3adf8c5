import Redis from "ioredis";

export interface HostPort {
  host: string;
  port: number;
}

/** Credentials and TLS, taken from the URL(s) of whichever topology is configured. */
export interface RedisAuth {
  username?: string;
  password?: string;
  tls: boolean;
}

export type RedisTopology =
  | { mode: "standalone"; url: string }
  | { mode: "cluster"; nodes: HostPort[]; auth: RedisAuth }
  | {
      mode: "sentinel";
      sentinels: HostPort[];
      name: string;
      sentinelPassword?: string;
      auth: RedisAuth;
    };

export interface RedisTopologySettings {
  REDIS_URL?: string;
  REDIS_CLUSTER_NODES?: string;
  REDIS_SENTINELS?: string;
  REDIS_SENTINEL_NAME?: string;
  REDIS_SENTINEL_PASSWORD?: string;
}

/** The topology the settings name, or undefined when none is set (embedded store). */
export function topologyFromSettings(s: RedisTopologySettings): RedisTopology | undefined {
  if (s.REDIS_CLUSTER_NODES) {
    const { nodes, auth } = parseNodeList(s.REDIS_CLUSTER_NODES);
    return { mode: "cluster", nodes, auth };
  }
  if (s.REDIS_SENTINELS) {
    const { nodes, auth } = parseNodeList(s.REDIS_SENTINELS);
    return {
      mode: "sentinel",
      sentinels: nodes,
      name: s.REDIS_SENTINEL_NAME ?? "mymaster",
      sentinelPassword: s.REDIS_SENTINEL_PASSWORD,
      auth,
    };
  }
  if (s.REDIS_URL) return { mode: "standalone", url: s.REDIS_URL };
  return undefined;
}

/**
 * `host:port` entries or URLs; the first URL's `user:password@` and `rediss:` apply to every
 * node (a deployment has one set of credentials).
 */
export function parseNodeList(list: string): { nodes: HostPort[]; auth: RedisAuth } {
  let auth: RedisAuth = { tls: false };
  let authFound = false;
  const nodes = list
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean)
    .map((entry) => {
      if (!entry.includes("://")) {
        const i = entry.lastIndexOf(":");
        return { host: entry.slice(0, i), port: Number(entry.slice(i + 1)) };
      }
      const u = new URL(entry);
      if (!authFound) {
        authFound = true;
        auth = urlAuth(u);
      }
      return { host: u.hostname, port: Number(u.port || 6379) };
    });
  return { nodes, auth };
}

export function urlAuth(u: URL): RedisAuth {
  return {
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    tls: u.protocol === "rediss:",
  };
}

/**
 * A `REDIS_URL` that points at a Redis Cluster node becomes a cluster seed (SPEC §8: never
 * silently degraded to a single node that answers MOVED). Asks `INFO cluster` once; when the
 * server cannot be reached, the URL stays standalone and the adapter reports any MOVED reply.
 */
export async function detectTopology(
  topology: RedisTopology,
  timeoutMs: number,
): Promise<{ topology: RedisTopology; detected: "cluster" | "standalone" | "unreachable" | null }> {
  if (topology.mode !== "standalone") return { topology, detected: null };
  const probe = new Redis(topology.url, {
    lazyConnect: true,
    connectTimeout: Math.max(1000, timeoutMs * 4),
    commandTimeout: Math.max(1000, timeoutMs * 4),
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  probe.on("error", () => {});
  try {
    await probe.connect();
    const info = await probe.info("cluster");
    if (!/cluster_enabled:1/.test(info)) return { topology, detected: "standalone" };
    const u = new URL(topology.url);
    return {
      topology: {
        mode: "cluster",
        nodes: [{ host: u.hostname, port: Number(u.port || 6379) }],
        auth: urlAuth(u),
      },
      detected: "cluster",
    };
  } catch {
    return { topology, detected: "unreachable" };
  } finally {
    probe.disconnect();
  }
}
