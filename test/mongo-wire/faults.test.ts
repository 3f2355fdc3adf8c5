import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MongoClient, MongoNetworkError, MongoServerSelectionError } from "mongodb";
import { type MongoWireServer, startMongoWire } from "../support/mongo-wire";

/** What the app's config would give the driver. */
const TIMEOUT_MS = 300;

let server: MongoWireServer;
let client: MongoClient;

const elapsed = async (fn: () => Promise<unknown>) => {
  const started = performance.now();
  const outcome = await fn().then(
    (value) => ({ value, error: undefined as unknown }),
    (error: unknown) => ({ value: undefined, error }),
  );
  return { ...outcome, ms: performance.now() - started };
};

/** The driver reconnects on its own; give it a bounded number of attempts. */
async function eventually<T>(fn: () => Promise<T>, withinMs = 5000): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await Bun.sleep(50);
    }
  }
}

beforeAll(async () => {
  server = await startMongoWire();
  client = new MongoClient(server.url, {
    serverSelectionTimeoutMS: TIMEOUT_MS,
    socketTimeoutMS: TIMEOUT_MS,
    connectTimeoutMS: TIMEOUT_MS,
  });
  await client.db("faults").collection("c").insertOne({ k: 1 });
});
afterAll(async () => {
  await client.close(true);
  await server.close();
});

describe("wire server faults, seen through the official driver", () => {
  test("stop: calls fail fast with a selection error; restart on the same port: recovered, data kept", async () => {
    const port = server.port;
    await server.stop();
    expect(server.listening).toBe(false);
    const down = await elapsed(() => client.db("faults").collection("c").findOne({ k: 1 }));
    expect(down.error).toBeInstanceOf(MongoServerSelectionError);
    expect(down.ms).toBeLessThan(2000);

    await server.restart();
    expect(server.port).toBe(port);
    const doc = await eventually(() => client.db("faults").collection("c").findOne({ k: 1 }));
    expect(doc?.k).toBe(1);
  });

  test("pause: a call times out instead of hanging; resume: calls work again", async () => {
    await eventually(() => client.db("faults").command({ ping: 1 }));
    server.pause();
    expect(server.paused).toBe(true);
    const held = await elapsed(() => client.db("faults").collection("c").insertOne({ k: 2 }));
    expect(held.error).toBeInstanceOf(MongoNetworkError);
    expect(held.ms).toBeLessThan(2000);
    server.resume();
    const doc = await eventually(() => client.db("faults").collection("c").findOne({ k: 1 }));
    expect(doc?.k).toBe(1);
    // The held insert's connection was closed by the driver: it never ran.
    expect(server.engine.db("faults").collection("c").count({ k: 2 })).toBe(0);
  });

  test("latency delays every answer; setLatency(0) removes it", async () => {
    server.setLatency(120);
    const slow = await elapsed(() => client.db("faults").command({ ping: 1 }));
    expect(slow.ms).toBeGreaterThanOrEqual(100);
    server.setLatency(0);
    const fast = await elapsed(() => client.db("faults").command({ ping: 1 }));
    expect(fast.error).toBeUndefined();
  });

  test("stats count commands by name; resetStats clears them", async () => {
    server.resetStats();
    const c = client.db("faults").collection("c");
    await c.findOne({ k: 1 });
    await c.findOne({ k: 1 });
    await c.updateOne({ k: 1 }, { $set: { seen: true } });
    expect(server.stats.commands.find).toBe(2);
    expect(server.stats.commands.update).toBe(1);
    expect(server.stats.commands.insert).toBeUndefined();
    server.resetStats();
    expect(server.stats.commands).toEqual({});
  });
});

describe("mongo:test-server CLI", () => {
  test("prints its URL, serves the driver, exits cleanly on SIGTERM", async () => {
    const probe = await startMongoWire();
    const port = probe.port;
    await probe.close();
    const proc = Bun.spawn(["bun", "run", "mongo:test-server", "--port", String(port)], {
      cwd: `${import.meta.dir}/../..`,
      stdout: "pipe",
      stderr: "inherit",
    });
    const reader = proc.stdout.getReader();
    const { value } = await reader.read();
    const url = new TextDecoder().decode(value).trim();
    expect(url).toBe(`mongodb://127.0.0.1:${port}/?directConnection=true`);
    const cli = new MongoClient(url, { serverSelectionTimeoutMS: 1000 });
    await cli.db("x").collection("y").insertOne({ a: 1 });
    expect(await cli.db("x").collection("y").countDocuments()).toBe(1);
    await cli.close();
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
  });
});
