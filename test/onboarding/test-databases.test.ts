import { expect, test } from "bun:test";
import { MongoClient } from "mongodb";
import { createTestStack, seedUser, startMongoWire } from "../support";

async function databaseNames(url: string): Promise<string[]> {
  const client = new MongoClient(url);
  try {
    const { databases } = await client.db("admin").admin().listDatabases();
    return databases.map((d) => d.name);
  } finally {
    await client.close();
  }
}

test("MONGO_URL set: the test stacks drop their cs_test_* database once the last one on it closes", async () => {
  // A server the suite does not own, as far as the harness can tell: it is named by MONGO_URL.
  const server = await startMongoWire();
  const saved = process.env.MONGO_URL;
  process.env.MONGO_URL = server.url;
  try {
    const first = await createTestStack();
    const second = await createTestStack({ redis: first.redis, dbName: first.dbName });
    await seedUser(first.ctx);
    expect(first.dbName).toStartWith("cs_test_");
    expect(await databaseNames(server.url)).toContain(first.dbName);
    await second.close();
    // Still in use by the first stack: kept.
    expect(await databaseNames(server.url)).toContain(first.dbName);
    await first.close();
    await first.close(); // twice is harmless
    expect(await databaseNames(server.url)).not.toContain(first.dbName);
  } finally {
    if (saved === undefined) delete process.env.MONGO_URL;
    else process.env.MONGO_URL = saved;
    await server.close();
  }
}, 30_000);
