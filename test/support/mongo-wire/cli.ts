/**
 * `bun run mongo:test-server [--port N] [--latency MS] [--replSet NAME] [--changeHistory N]`:
 * a MongoDB wire-protocol server on the embedded engine, for running the app or a shell against
 * without installing mongod. `--replSet rs0` makes it a one-node replica set (change streams).
 */
import { startMongoWire } from "./server";

function flag(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  const raw =
    i >= 0
      ? process.argv[i + 1]
      : process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${name} must be a non-negative integer, got ${raw}`);
    process.exit(2);
  }
  return n;
}

function text(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  const raw = i >= 0 ? process.argv[i + 1] : undefined;
  const value = raw ?? process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
  if (value !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(value)) {
    console.error(`--${name} must be a name (letters, digits, _ and -), got ${value}`);
    process.exit(2);
  }
  return value;
}

const server = await startMongoWire({
  port: flag("port") ?? 27017,
  latencyMs: flag("latency"),
  replSet: text("replSet"),
  changeHistory: flag("changeHistory"),
});
console.log(server.url);

let closing = false;
const shutdown = async () => {
  if (closing) return;
  closing = true;
  await server.close();
  process.exit(0);
};
process.on("SIGINT", () => void shutdown());
process.on("SIGTERM", () => void shutdown());
