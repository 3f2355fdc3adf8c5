import { type MongoWireServer, startMongoWire } from "../support/mongo-wire";
import { type RedisHarness, startRedis } from "../support/redis-server";

/** A test file's own stores: a Redis (per REDIS_TOPOLOGY) and MongoDB, the wire server unless MONGO_URL names one. */
export interface FileServers {
  redis: RedisHarness;
  mongo: MongoWireServer | undefined;
  /** What `MONGO_URL` a spawned CLI or a driver client of the test uses. */
  url: string;
  stop(): Promise<void>;
}

export async function startServers(): Promise<FileServers> {
  const redis = await startRedis();
  const mongo = process.env.MONGO_URL ? undefined : await startMongoWire();
  return {
    redis,
    mongo,
    url: process.env.MONGO_URL ?? (mongo as MongoWireServer).url,
    stop: async () => {
      await mongo?.close();
      await redis.stop();
    },
  };
}
