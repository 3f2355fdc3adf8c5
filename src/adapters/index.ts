import type { Stores } from "../core/app";
import type { Config } from "../core/config";
import type { Logger } from "../core/logger";
import { MemoryCacheStore } from "./memory/memory-cache-store";
import { MemoryDocumentStore } from "./memory/memory-document-store";
import { MemoryEventBus } from "./memory/memory-event-bus";
import { MongoDocumentStore } from "./mongo/mongo-document-store";
import { RedisCacheStore } from "./redis/redis-cache-store";
import { RedisEventBus } from "./redis/redis-event-bus";
import { detectTopology, topologyFromSettings } from "./redis/topology";

/**
 * Picks adapters from the config: MongoDB / Redis when their URLs are set, the embedded
 * in-process adapters otherwise (and says so in the log).
 */
export async function createStores(config: Config, logger: Logger): Promise<Stores> {
  const db = config.MONGO_URL
    ? await MongoDocumentStore.connect({
        url: config.MONGO_URL,
        dbName: config.MONGO_DB,
        timeoutMs: config.MONGO_TIMEOUT_MS,
      })
    : new MemoryDocumentStore();
  const configured = topologyFromSettings(config);
  const found = configured ? await detectTopology(configured, config.REDIS_TIMEOUT_MS) : undefined;
  if (found?.detected === "cluster")
    logger.info("REDIS_URL is a Redis Cluster node: using it as a cluster seed");
  if (found?.detected === "unreachable")
    logger.warn(
      "Redis unreachable at start-up: REDIS_URL is used as a single server; if it is a cluster node, /ready reports Redis down until restart (set REDIS_CLUSTER_NODES to be explicit)",
    );
  const redisOpts = found
    ? {
        topology: found.topology,
        timeoutMs: config.REDIS_TIMEOUT_MS,
        streamMaxLen: config.SSE_REPLAY_MAXLEN,
        waitReplicas: config.REDIS_WAIT_REPLICAS,
      }
    : undefined;
  const cache = redisOpts
    ? new RedisCacheStore({
        ...redisOpts,
        onFailover: (detail) =>
          logger.warn({ detail }, "Redis failover detected: cache reads wait for the repair"),
      })
    : new MemoryCacheStore();
  const bus = redisOpts
    ? new RedisEventBus(redisOpts, cache instanceof RedisCacheStore ? cache.client : undefined)
    : new MemoryEventBus({ maxLen: config.SSE_REPLAY_MAXLEN });
  const embedded = [!config.MONGO_URL && "MongoDB", !redisOpts && "Redis"].filter(Boolean);
  if (embedded.length) {
    logger.warn(
      { db: db.kind, cache: cache.kind, bus: bus.kind },
      `running on the embedded in-process store for ${embedded.join(" and ")} (set MONGO_URL / REDIS_URL for real servers); data is lost on exit`,
    );
  } else {
    logger.info(
      { db: db.kind, cache: cache.kind, bus: bus.kind, redis: redisOpts?.topology.mode },
      "connected stores",
    );
  }
  return { db, cache, bus };
}
