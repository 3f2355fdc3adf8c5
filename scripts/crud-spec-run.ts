/**
 * `bun run scripts/crud-spec-run.ts --specs <dir> [--url <mongodb-url>] [--verbose]`
 *
 * Runs MongoDB's CRUD specification tests (the Unified Test Format files of the public
 * mongodb/specifications repository, `source/crud/tests/unified`) through the official driver
 * against the wire-protocol test server it starts (or `--url`), and prints passed / applicable
 * with every failure, its kind and its error. The spec files are not part of this repository
 * (their licence is CC BY-NC-SA): fetch them yourself, e.g.
 *
 *   git clone --depth 1 https://github.com/mongodb/specifications /tmp/specifications
 *   bun run scripts/crud-spec-run.ts --specs /tmp/specifications/source/crud/tests/unified
 *
 * This runner is our own, minimal implementation of the format: the operations, matching rules
 * ($$exists, $$type, $$unsetOrMatches, numbers compared by value, extra fields allowed in root
 * documents only), expected command events and collection outcomes the CRUD files use. A test it
 * cannot run (an operation or entity it does not implement) is reported as "runner" and counted
 * as failed, never skipped. A failure is classified:
 * - "refused": the server answered an error where the test expects success (a documented refusal
 *   when its code is NotImplemented 238 or IllegalOperation 20);
 * - "wrong result": the operation succeeded and its result or the collection afterwards differ
 *   from the test's expectation (or an expected error is missing);
 * - "driver": the command the driver sent differs from the test's expectation (before any server
 *   is involved: the driver in node_modules, not the server, is what such a test checks);
 * - "error": any other unexpected error; "runner": the runner lacks something.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { EJSON } from "bson";
import {
  type ClientSession,
  type Collection,
  type CommandStartedEvent,
  type CommandSucceededEvent,
  type Db,
  type Document,
  MongoClient,
} from "mongodb";
import { startMongoWire } from "../test/support/mongo-wire";

type Json = Record<string, unknown>;
type Kind = "refused" | "wrong result" | "driver" | "error" | "runner";

class Mismatch extends Error {}
/** A difference in the command the driver sent, which no server answer can cause. */
class SentMismatch extends Error {}
class RunnerGap extends Error {}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

// ---- Matching (the Unified Test Format's rules, as far as the CRUD files need them)

const isNumber = (v: unknown): boolean =>
  typeof v === "number" ||
  typeof v === "bigint" ||
  ["Int32", "Double", "Long", "Decimal128"].includes(bsonType(v) ?? "");

function bsonType(v: unknown): string | undefined {
  return (v as { _bsontype?: string } | null)?._bsontype;
}

function numberOf(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  return Number((v as { toString(): string }).toString());
}

const TYPE_CHECKS: Record<string, (v: unknown) => boolean> = {
  double: (v) => bsonType(v) === "Double" || (typeof v === "number" && !Number.isInteger(v)),
  string: (v) => typeof v === "string",
  object: (v) => isPlain(v),
  array: Array.isArray,
  binData: (v) => bsonType(v) === "Binary",
  objectId: (v) => bsonType(v) === "ObjectId",
  bool: (v) => typeof v === "boolean",
  date: (v) => v instanceof Date,
  null: (v) => v === null,
  int: (v) => bsonType(v) === "Int32" || (typeof v === "number" && Number.isInteger(v)),
  long: (v) => bsonType(v) === "Long" || typeof v === "bigint" || Number.isInteger(v),
  timestamp: (v) => bsonType(v) === "Timestamp",
  decimal: (v) => bsonType(v) === "Decimal128",
  number: isNumber,
};

function isPlain(v: unknown): v is Json {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function special(v: unknown): [string, unknown] | undefined {
  if (!isPlain(v)) return undefined;
  const keys = Object.keys(v);
  return keys.length === 1 && keys[0]?.startsWith("$$") ? [keys[0], v[keys[0]]] : undefined;
}

/** What the driver hands over (sort Maps, ReadConcern objects …) as plain documents. */
function plain(v: unknown): unknown {
  if (v instanceof Map) return Object.fromEntries(v);
  if (v === null || typeof v !== "object" || Array.isArray(v) || isPlain(v) || bsonType(v))
    return v;
  if (v instanceof Date || v instanceof Uint8Array) return v;
  return { ...(v as Json) };
}

function match(expected: unknown, rawActual: unknown, path: string, root: boolean): void {
  const actual = plain(rawActual);
  const op = special(expected);
  if (op) {
    const [name, value] = op;
    if (name === "$$unsetOrMatches") {
      if (actual !== undefined) match(value, actual, path, root);
      return;
    }
    if (name === "$$type") {
      const types = Array.isArray(value) ? value : [value];
      if (!types.some((t) => TYPE_CHECKS[String(t)]?.(actual)))
        throw new Mismatch(`${path}: expected type ${types.join("|")}, got ${show(actual)}`);
      return;
    }
    if (name === "$$exists") {
      if ((actual !== undefined) !== value)
        throw new Mismatch(`${path}: expected ${value ? "present" : "absent"}`);
      return;
    }
    if (name === "$$lte") {
      if (!(numberOf(actual) <= numberOf(value)))
        throw new Mismatch(`${path}: not ≤ ${show(value)}`);
      return;
    }
    throw new RunnerGap(`matching operator ${name}`);
  }
  if (isNumber(expected) && isNumber(actual)) {
    if (numberOf(expected) !== numberOf(actual))
      throw new Mismatch(`${path}: expected ${show(expected)}, got ${show(actual)}`);
    return;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length)
      throw new Mismatch(`${path}: expected ${show(expected)}, got ${show(actual)}`);
    // Documents of a root-level array (a find's result) are root-level documents too.
    expected.forEach((e, i) => {
      match(e, actual[i], `${path}[${i}]`, root);
    });
    return;
  }
  if (isPlain(expected)) {
    if (!isPlain(actual)) throw new Mismatch(`${path}: expected a document, got ${show(actual)}`);
    for (const [key, value] of Object.entries(expected))
      match(value, actual[key], `${path}.${key}`, false);
    if (!root) {
      const extra = Object.keys(actual).filter((k) => !(k in expected) && actual[k] !== undefined);
      if (extra.length) throw new Mismatch(`${path}: unexpected fields ${extra.join(", ")}`);
    }
    return;
  }
  if (EJSON.stringify(expected as Document) !== EJSON.stringify(actual as Document))
    throw new Mismatch(`${path}: expected ${show(expected)}, got ${show(actual)}`);
}

function show(v: unknown): string {
  try {
    return EJSON.stringify(v as Document, { relaxed: true }).slice(0, 200);
  } catch {
    return String(v);
  }
}

// ---- Requirements

interface Server {
  version: number[];
  topology: string;
}

function versionOf(s: string): number[] {
  return s.split(".").map(Number);
}

function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

function satisfied(reqs: Json[] | undefined, server: Server): boolean {
  if (!reqs) return true;
  return reqs.some((r) => {
    if (
      r.minServerVersion &&
      compareVersions(server.version, versionOf(String(r.minServerVersion))) < 0
    )
      return false;
    if (
      r.maxServerVersion &&
      compareVersions(server.version, versionOf(String(r.maxServerVersion))) > 0
    )
      return false;
    if (Array.isArray(r.topologies) && !r.topologies.includes(server.topology)) return false;
    if (r.serverless === "require" || r.auth === true || r.csfle || r.serverParameters)
      return false;
    return true;
  });
}

// ---- Entities and operations

interface ClientEntity {
  client: MongoClient;
  events: (CommandStartedEvent | CommandSucceededEvent)[];
}

interface Entities {
  clients: Map<string, ClientEntity>;
  dbs: Map<string, Db>;
  colls: Map<string, Collection<Document>>;
  sessions: Map<string, ClientSession>;
}

async function createEntities(url: string, specs: Json[], e: Entities): Promise<void> {
  for (const spec of specs) {
    const [kind, raw] = Object.entries(spec)[0] as [string, Json];
    if (kind === "client") {
      const observe = new Set((raw.observeEvents as string[] | undefined) ?? []);
      const ignore = new Set([
        "configureFailPoint",
        ...((raw.ignoreCommandMonitoringEvents as string[] | undefined) ?? []),
      ]);
      const client = new MongoClient(url, { monitorCommands: true, ...(raw.uriOptions as Json) });
      const entity: ClientEntity = { client, events: [] };
      client.on("commandStarted", (ev) => {
        if (observe.has("commandStartedEvent") && !ignore.has(ev.commandName))
          entity.events.push(ev);
      });
      client.on("commandSucceeded", (ev) => {
        if (observe.has("commandSucceededEvent") && !ignore.has(ev.commandName))
          entity.events.push(ev);
      });
      await client.connect();
      e.clients.set(String(raw.id), entity);
    } else if (kind === "database") {
      const client = e.clients.get(String(raw.client))?.client;
      if (!client) throw new RunnerGap(`database on unknown client ${String(raw.client)}`);
      e.dbs.set(String(raw.id), client.db(String(raw.databaseName), raw.databaseOptions as Json));
    } else if (kind === "collection") {
      const db = e.dbs.get(String(raw.database));
      if (!db) throw new RunnerGap(`collection on unknown database ${String(raw.database)}`);
      e.colls.set(
        String(raw.id),
        db.collection(String(raw.collectionName), raw.collectionOptions as Json),
      );
    } else if (kind === "session") {
      const client = e.clients.get(String(raw.client))?.client;
      if (!client) throw new RunnerGap("session on unknown client");
      e.sessions.set(String(raw.id), client.startSession(raw.sessionOptions as Json));
    } else throw new RunnerGap(`entity ${kind}`);
  }
}

/** The spec's argument names as the driver's options (sessions resolved, returnDocument lower-cased). */
function options(args: Json, e: Entities, drop: string[]): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(args)) {
    if (drop.includes(k)) continue;
    if (k === "session") out.session = e.sessions.get(String(v));
    else if (k === "returnDocument") out.returnDocument = String(v).toLowerCase();
    else out[k] = v;
  }
  return out;
}

async function runOperation(
  op: Json,
  e: Entities,
  failPoints: [MongoClient, string][],
): Promise<unknown> {
  const name = String(op.name);
  const args = (op.arguments as Json | undefined) ?? {};
  const target = String(op.object);
  if (target === "testRunner") {
    if (name !== "failPoint") throw new RunnerGap(`testRunner.${name}`);
    const client = e.clients.get(String(args.client))?.client;
    const fp = args.failPoint as Json;
    if (!client) throw new RunnerGap("failPoint on unknown client");
    await client.db("admin").command(fp);
    failPoints.push([client, String(fp.configureFailPoint)]);
    return undefined;
  }
  const client = e.clients.get(target)?.client;
  if (client) {
    if (name !== "clientBulkWrite") throw new RunnerGap(`client.${name}`);
    // The spec's { replaceOne: { namespace, … } } is the driver's { name: "replaceOne", namespace, … }.
    const models = (args.models as Json[]).map((m) => {
      const [kind, body] = Object.entries(m)[0] as [string, Json];
      return { name: kind, ...body };
    });
    return client.bulkWrite(models as never, options(args, e, ["models"]));
  }
  const coll = e.colls.get(target);
  const db = e.dbs.get(target);
  if (db) {
    switch (name) {
      case "aggregate":
        return db.aggregate(args.pipeline as Document[], options(args, e, ["pipeline"])).toArray();
      case "createCollection":
        return void (await db.createCollection(
          String(args.collection),
          options(args, e, ["collection"]),
        ));
      case "dropCollection":
        return void (await db.dropCollection(
          String(args.collection),
          options(args, e, ["collection"]),
        ));
      case "modifyCollection":
        return db.command({ collMod: args.collection, ...options(args, e, ["collection"]) });
      case "runCommand":
        return db.command(args.command as Document, options(args, e, ["command", "commandName"]));
    }
    throw new RunnerGap(`database.${name}`);
  }
  if (!coll) throw new RunnerGap(`operation on ${target}`);
  const o = (...drop: string[]) => options(args, e, drop);
  switch (name) {
    case "aggregate":
      return coll.aggregate(args.pipeline as Document[], o("pipeline")).toArray();
    case "bulkWrite":
      return coll.bulkWrite(args.requests as never, o("requests"));
    case "countDocuments":
      return coll.countDocuments(args.filter as Document, o("filter"));
    case "estimatedDocumentCount":
      return coll.estimatedDocumentCount(o());
    case "count":
      return (coll as unknown as { count(f: Document, o: Json): Promise<number> }).count(
        args.filter as Document,
        o("filter"),
      );
    case "deleteMany":
      return coll.deleteMany(args.filter as Document, o("filter"));
    case "deleteOne":
      return coll.deleteOne(args.filter as Document, o("filter"));
    case "distinct":
      return coll.distinct(
        String(args.fieldName),
        args.filter as Document,
        o("fieldName", "filter"),
      );
    case "find":
      return coll.find(args.filter as Document, o("filter")).toArray();
    case "findOne":
      return coll.findOne(args.filter as Document, o("filter"));
    case "findOneAndDelete":
      return coll.findOneAndDelete(args.filter as Document, o("filter"));
    case "findOneAndReplace":
      return coll.findOneAndReplace(
        args.filter as Document,
        args.replacement as Document,
        o("filter", "replacement"),
      );
    case "findOneAndUpdate":
      return coll.findOneAndUpdate(
        args.filter as Document,
        args.update as Document,
        o("filter", "update"),
      );
    case "insertMany":
      return coll.insertMany(args.documents as Document[], o("documents"));
    case "insertOne":
      return coll.insertOne(args.document as Document, o("document"));
    case "replaceOne":
      return coll.replaceOne(
        args.filter as Document,
        args.replacement as Document,
        o("filter", "replacement"),
      );
    case "updateMany":
      return coll.updateMany(
        args.filter as Document,
        args.update as Document,
        o("filter", "update"),
      );
    case "updateOne":
      return coll.updateOne(
        args.filter as Document,
        args.update as Document,
        o("filter", "update"),
      );
    case "createIndex":
      return coll.createIndex(args.keys as Document, o("keys"));
  }
  throw new RunnerGap(`collection.${name}`);
}

/** A driver result as the spec describes it (plain fields; inserted ids keyed by index). */
function resultView(result: unknown): unknown {
  if (result === null || typeof result !== "object" || Array.isArray(result) || isPlain(result))
    return result;
  const r = result as Json;
  if (
    "insertedIds" in r ||
    "upsertedIds" in r ||
    "matchedCount" in r ||
    "deletedCount" in r ||
    "insertedId" in r
  ) {
    const out: Json = {};
    for (const key of [
      "insertedId",
      "insertedIds",
      "insertedCount",
      "matchedCount",
      "modifiedCount",
      "deletedCount",
      "upsertedCount",
      "upsertedIds",
      "upsertedId",
    ]) {
      const v = r[key];
      if (v === undefined || (key === "upsertedId" && v === null)) continue;
      out[key] = isPlain(v) || !v || typeof v !== "object" || bsonType(v) ? v : { ...(v as Json) };
    }
    return out;
  }
  return result;
}

function checkError(expected: Json, err: unknown): void {
  const x = err as Error & {
    code?: number;
    codeName?: string;
    errorLabels?: string[];
    errorResponse?: Json;
    result?: unknown;
    writeErrors?: { index: number; code: number }[];
  };
  const fromServer =
    x.code !== undefined || x.errorResponse !== undefined || x.writeErrors !== undefined;
  if (expected.isClientError === true && fromServer)
    throw new Mismatch(`expected a client error, got the server's: ${x.message}`);
  if (expected.isClientError === false && !fromServer)
    throw new Mismatch(`expected a server error, got ${x.message}`);
  if (
    typeof expected.errorContains === "string" &&
    !x.message.toLowerCase().includes(expected.errorContains.toLowerCase())
  )
    throw new Mismatch(`error "${x.message}" lacks "${expected.errorContains}"`);
  if (expected.errorCode !== undefined && x.code !== numberOf(expected.errorCode))
    throw new Mismatch(
      `expected error code ${String(expected.errorCode)}, got ${String(x.code)}: ${x.message}`,
    );
  if (expected.errorCodeName !== undefined && x.codeName !== expected.errorCodeName)
    throw new Mismatch(`expected ${String(expected.errorCodeName)}, got ${String(x.codeName)}`);
  for (const label of (expected.errorLabelsContain as string[] | undefined) ?? [])
    if (!x.errorLabels?.includes(label)) throw new Mismatch(`error label ${label} missing`);
  if (expected.errorResponse) match(expected.errorResponse, x.errorResponse, "errorResponse", true);
  if (expected.expectResult)
    match(expected.expectResult, resultView(x.result), "error.result", true);
  if (expected.writeErrors)
    for (const [index, spec] of Object.entries(expected.writeErrors as Json)) {
      const actual = x.writeErrors?.find((w) => w.index === Number(index));
      match(spec, actual ? { code: actual.code } : undefined, `writeErrors[${index}]`, true);
    }
}

function checkEvents(expectations: Json[], e: Entities): void {
  for (const exp of expectations) {
    const entity = e.clients.get(String(exp.client));
    if (!entity) throw new RunnerGap(`events of unknown client ${String(exp.client)}`);
    if (exp.eventType && exp.eventType !== "command")
      throw new RunnerGap(`${String(exp.eventType)} events`);
    const expected = exp.events as Json[];
    const actual = entity.events;
    if (exp.ignoreExtraEvents ? actual.length < expected.length : actual.length !== expected.length)
      throw new Mismatch(
        `expected ${expected.length} command events, got ${actual.length} (${actual.map((a) => a.commandName).join(", ")})`,
      );
    expected.forEach((ev, i) => {
      const [kind, body] = Object.entries(ev)[0] as [string, Json];
      const a = actual[i] as CommandStartedEvent & CommandSucceededEvent;
      const wanted = kind === "commandStartedEvent" ? "commandStarted" : "commandSucceeded";
      if (!a.constructor.name.startsWith(wanted[0]?.toUpperCase() + wanted.slice(1)))
        throw new Mismatch(`event ${i}: expected ${kind}, got ${a.constructor.name}`);
      if (body.commandName && body.commandName !== a.commandName)
        throw new Mismatch(
          `event ${i}: expected ${String(body.commandName)}, got ${a.commandName}`,
        );
      if (body.databaseName && body.databaseName !== a.databaseName)
        throw new Mismatch(`event ${i}: database ${a.databaseName}`);
      if (body.command)
        try {
          match(body.command, a.command, `events[${i}].command`, true);
        } catch (err) {
          if (err instanceof Mismatch && kind === "commandStartedEvent")
            throw new SentMismatch(err.message);
          throw err;
        }
      if (body.reply) match(body.reply, a.reply, `events[${i}].reply`, true);
    });
  }
}

// ---- The run

interface Failure {
  file: string;
  test: string;
  kind: Kind;
  message: string;
}

async function runTest(
  url: string,
  setup: MongoClient,
  file: Json,
  test: Json,
): Promise<{ kind: Kind; message: string } | undefined> {
  const e: Entities = { clients: new Map(), dbs: new Map(), colls: new Map(), sessions: new Map() };
  const failPoints: [MongoClient, string][] = [];
  try {
    for (const data of (file.initialData as Json[] | undefined) ?? []) {
      const db = setup.db(String(data.databaseName));
      await db.dropCollection(String(data.collectionName)).catch(() => undefined);
      await db.createCollection(String(data.collectionName), data.createOptions as Json);
      const docs = data.documents as Document[];
      if (docs.length) await db.collection(String(data.collectionName)).insertMany(docs);
    }
    await createEntities(url, (file.createEntities as Json[] | undefined) ?? [], e);
    for (const op of test.operations as Json[]) {
      let result: unknown;
      let error: unknown;
      try {
        result = await runOperation(op, e, failPoints);
      } catch (err) {
        if (err instanceof RunnerGap) throw err;
        error = err;
      }
      if (op.ignoreResultAndError) continue;
      if (op.expectError) {
        if (error === undefined)
          throw new Mismatch(`${String(op.name)}: expected an error, it succeeded`);
        checkError(op.expectError as Json, error);
        continue;
      }
      if (error !== undefined) {
        const x = error as Error & { code?: number };
        const refused = x.code === 238 || x.code === 20;
        return {
          kind: refused ? "refused" : "error",
          message: `${String(op.name)}: ${x.message} (code ${String(x.code)})`,
        };
      }
      if ("expectResult" in op)
        match(op.expectResult, resultView(result), `${String(op.name)} result`, true);
    }
    if (test.expectEvents) checkEvents(test.expectEvents as Json[], e);
    for (const outcome of (test.outcome as Json[] | undefined) ?? []) {
      const docs = await setup
        .db(String(outcome.databaseName))
        .collection(String(outcome.collectionName))
        .find({}, { sort: { _id: 1 } })
        .toArray();
      match(outcome.documents, docs, `outcome ${String(outcome.collectionName)}`, false);
    }
    return undefined;
  } catch (err) {
    if (err instanceof RunnerGap)
      return { kind: "runner", message: `not implemented by this runner: ${err.message}` };
    if (err instanceof Mismatch) return { kind: "wrong result", message: err.message };
    if (err instanceof SentMismatch) return { kind: "driver", message: err.message };
    return { kind: "error", message: err instanceof Error ? err.message : String(err) };
  } finally {
    for (const [client, name] of failPoints)
      await client
        .db("admin")
        .command({ configureFailPoint: name, mode: "off" })
        .catch(() => undefined);
    for (const s of e.sessions.values()) await s.endSession().catch(() => undefined);
    for (const c of e.clients.values()) await c.client.close();
  }
}

async function main(): Promise<void> {
  const specs = arg("specs");
  if (!specs) {
    console.error(
      "usage: bun run scripts/crud-spec-run.ts --specs <dir of the CRUD unified .json files> [--url <mongodb-url>] [--verbose]",
    );
    process.exit(2);
  }
  const wire = arg("url") ? undefined : await startMongoWire();
  const url = arg("url") ?? (wire as { url: string }).url;
  const setup = await new MongoClient(url).connect();
  const info = await setup.db("admin").command({ buildInfo: 1 });
  const hello = await setup.db("admin").command({ hello: 1 });
  const server: Server = {
    version: versionOf(String(info.version)),
    topology: hello.setName ? "replicaset" : hello.msg === "isdbgrid" ? "sharded" : "single",
  };
  const files = readdirSync(specs)
    .filter((f) => f.endsWith(".json"))
    .sort();
  let total = 0;
  let applicable = 0;
  const failures: Failure[] = [];
  for (const name of files) {
    // Relaxed: numbers become JS numbers, which is what the driver's options expect.
    const file = EJSON.parse(readFileSync(join(specs, name), "utf8"), { relaxed: true }) as Json;
    for (const test of file.tests as Json[]) {
      total++;
      if (test.skipReason || !satisfied(file.runOnRequirements as Json[], server)) continue;
      if (!satisfied(test.runOnRequirements as Json[], server)) continue;
      applicable++;
      const failure = await runTest(url, setup, file, test);
      if (failure) failures.push({ file: name, test: String(test.description), ...failure });
      else if (process.argv.includes("--verbose"))
        console.log(`pass  ${name}: ${String(test.description)}`);
    }
  }
  await setup.close();
  await wire?.close();
  for (const f of failures)
    console.log(`FAIL [${f.kind}] ${f.file}: ${f.test}\n      ${f.message}`);
  const passed = applicable - failures.length;
  const byKind = new Map<Kind, number>();
  for (const f of failures) byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
  const kinds = [...byKind].map(([k, n]) => `${n} ${k}`).join(", ");
  console.log(
    `\n${files.length} files, ${total} tests; ${total - applicable} not applicable to ${info.version} (${server.topology});` +
      ` ${passed} of ${applicable} applicable passed (${((100 * passed) / Math.max(1, applicable)).toFixed(1)} %)` +
      (failures.length ? `; failed: ${kinds}` : ""),
  );
}

await main();
