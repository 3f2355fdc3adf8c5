import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { openEvents } from "../sse/sse-client";
import { createUser } from "../support/fixtures";
import { createPeerStack, createTestStack, type TestStack } from "../support/stack";
import { pluginsWithProbe, probePlugin } from "./helpers";

/** Two instances on one Redis and one database; the browser listens on B over real HTTP. */
let a: TestStack;
let b: TestStack;
let server: Server<undefined>;
const probeA = probePlugin();

beforeAll(async () => {
  a = await createTestStack({ plugins: pluginsWithProbe(probeA) });
  b = await createPeerStack(a);
  server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: b.app.fetch });
});
afterAll(async () => {
  server.stop(true);
  await b.close();
  await a.close();
});

describe("userDataUpdated across instances", () => {
  test("an event published after a newer write was acknowledged never reaches a stream", async () => {
    const u = await createUser(a);
    const stream = await openEvents(`http://127.0.0.1:${server.port}`, { token: u.token });
    const held = probeA.hold((op) => op === "findOneAndUpdate");
    const older = a.ctx.use("cacheSync").updateUserWithSync(u.id, { $set: { bio: "older" } });
    await held.reached; // v2 is in MongoDB; A has not written it through nor published it
    const newer = await b.ctx.use("cacheSync").updateUserWithSync(u.id, { $set: { bio: "newer" } });
    held.release(); // v3 acknowledged; A now publishes v2
    const olderResult = await older;
    const last = await b.ctx.use("cacheSync").updateUserWithSync(u.id, { $set: { bio: "last" } });
    const versions: number[] = [];
    for (;;) {
      const f = await stream.nextEvent();
      const v = (JSON.parse(f.data as string) as { version: number }).version;
      versions.push(v);
      if (v === last?.version) break;
    }
    await stream.close();
    expect(olderResult?.version).toBe((newer?.version as number) - 1);
    expect(versions).toEqual([newer?.version as number, last?.version as number]);
  });
});
