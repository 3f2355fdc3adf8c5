import { test } from "bun:test";
import { MongoClient } from "mongodb";
import { ownsRedis } from "./redis-server";

/** False when MONGO_URL points the suite at a server it does not own (and so cannot stop). */
export const ownsMongo = !process.env.MONGO_URL;

/**
 * `test`, for tests that stop, pause or kill the servers they name: on a server the suite does not
 * own (MONGO_URL / REDIS_URL set) the test is skipped, and a line says which and why, where bun's
 * own report would only print "(skip)".
 */
export function testOwning(needs: { mongo?: boolean; redis?: boolean }) {
  const missing = [
    needs.mongo && !ownsMongo ? "MONGO_URL" : "",
    needs.redis && !ownsRedis ? "REDIS_URL" : "",
  ].filter(Boolean);
  return (name: string, fn: () => unknown, timeoutMs?: number) => {
    if (missing.length > 0)
      console.warn(
        `skipped, ${missing.join(" and ")} set (the test must stop that server): ${name}`,
      );
    test.if(missing.length === 0)(name, async () => await fn(), timeoutMs);
  };
}

/** Drops a test database on a server the suite does not own, so runs leave nothing behind. */
export async function dropDatabase(url: string, dbName: string): Promise<void> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 2000 });
  try {
    await client.db(dbName).dropDatabase();
  } finally {
    await client.close();
  }
}
