import { expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * scripts/crud-spec-run.ts on a Unified Test Format file of our own (the specification's files
 * stay outside the repository): a passing test, a test whose expectation is wrong (reported as a
 * wrong result, so a divergence cannot pass), and one for a newer server (not applicable).
 */
test("the CRUD spec runner counts passes, reports a wrong result, and skips what does not apply", async () => {
  const dir = mkdtempSync(join(tmpdir(), "crud-spec-"));
  const insertAndFind = (expected: number) => [
    { name: "insertOne", object: "coll", arguments: { document: { _id: 2, x: 2 } } },
    {
      name: "find",
      object: "coll",
      arguments: { filter: { x: { $gte: 1 } }, sort: { _id: 1 } },
      expectResult: [{ _id: 1 }, { _id: 2, x: expected }],
    },
  ];
  writeFileSync(
    join(dir, "own.json"),
    JSON.stringify({
      description: "own",
      schemaVersion: "1.0",
      createEntities: [
        { client: { id: "client", observeEvents: ["commandStartedEvent"] } },
        { database: { id: "db", client: "client", databaseName: "own-db" } },
        { collection: { id: "coll", database: "db", collectionName: "c" } },
      ],
      initialData: [{ collectionName: "c", databaseName: "own-db", documents: [{ _id: 1, x: 1 }] }],
      tests: [
        {
          description: "passes",
          operations: insertAndFind(2),
          expectEvents: [
            {
              client: "client",
              events: [
                { commandStartedEvent: { commandName: "insert", command: { insert: "c" } } },
                { commandStartedEvent: { commandName: "find" } },
              ],
            },
          ],
          outcome: [
            {
              collectionName: "c",
              databaseName: "own-db",
              documents: [
                { _id: 1, x: 1 },
                { _id: 2, x: 2 },
              ],
            },
          ],
        },
        { description: "expects a wrong value", operations: insertAndFind(3) },
        {
          description: "needs a newer server",
          runOnRequirements: [{ minServerVersion: "99.0" }],
          operations: insertAndFind(2),
        },
      ],
    }),
  );
  const proc = Bun.spawn([process.execPath, "run", "scripts/crud-spec-run.ts", "--specs", dir], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  expect(out).toContain("FAIL [wrong result] own.json: expects a wrong value");
  expect(out).toContain("3 tests; 1 not applicable");
  expect(out).toContain("1 of 2 applicable passed (50.0 %)");
});
