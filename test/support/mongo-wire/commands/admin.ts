import type { Document } from "bson";
import { Query } from "mingo";
import { EngineError, type IndexRequest } from "../../../../src/adapters/memory/engine";
import { toNumber } from "../cursors";
import { type CommandHandler, docArray, optionalDoc, targetCollection } from "./context";
import { checkCommandFields, notImplemented, refuseUnsupported } from "./options";

/** Fields an index specification may carry (mongod 7.0); any other is refused with 197. */
const INDEX_SPEC_FIELDS = new Set([
  "key",
  "name",
  "unique",
  "sparse",
  "background",
  "hidden",
  "partialFilterExpression",
  "expireAfterSeconds",
  "collation",
  "v",
  "weights",
  "default_language",
  "language_override",
  "textIndexVersion",
  "2dsphereIndexVersion",
  "bits",
  "min",
  "max",
  "wildcardProjection",
  "storageEngine",
  "ns",
  "prepareUnique",
  "clustered",
]);

const createIndexes: CommandHandler = (body, ctx) => {
  checkCommandFields(body, "createIndexes");
  const db = ctx.engine.db(ctx.db);
  const name = targetCollection(body, "createIndexes");
  const createdCollectionAutomatically = !db.existing(name);
  const coll = db.collection(name);
  const before = coll.indexCount;
  for (const spec of docArray(body.indexes, "createIndexes.indexes")) {
    const key = optionalDoc(spec.key);
    if (!key || !Object.keys(key).length)
      throw new EngineError(67, "CannotCreateIndex", "Index keys cannot be empty.");
    for (const field of Object.keys(spec)) {
      if (!INDEX_SPEC_FIELDS.has(field))
        throw new EngineError(
          197,
          "InvalidIndexSpecificationOption",
          `The field '${field}' is not valid for an index specification. Specification: ${JSON.stringify(spec)}`,
        );
    }
    refuseUnsupported(spec, [
      "partialFilterExpression",
      "expireAfterSeconds",
      "collation",
      "hidden",
      "wildcardProjection",
    ]);
    // A wildcard key (`$**`, `a.$**`) would otherwise index a field named "$**".
    if (Object.keys(key).some((field) => field === "$**" || field.endsWith(".$**")))
      throw notImplemented("a wildcard index");
    for (const kind of Object.values(key)) {
      if (kind !== 1 && kind !== -1 && kind !== "hashed")
        throw notImplemented(`an index of type ${JSON.stringify(kind)}`);
    }
    const req: IndexRequest = {
      key: key as Record<string, 1 | -1>,
      name: typeof spec.name === "string" ? spec.name : undefined,
      unique: spec.unique === true,
      sparse: spec.sparse === true,
    };
    coll.createIndex(req);
  }
  const reply: Document = {
    numIndexesBefore: before,
    numIndexesAfter: coll.indexCount,
    createdCollectionAutomatically,
    ok: 1,
  };
  if (before === coll.indexCount) reply.note = "all indexes already exist";
  return reply;
};

const listIndexes: CommandHandler = (body, ctx) => {
  const name = targetCollection(body, "listIndexes");
  const coll = ctx.engine.db(ctx.db).existing(name);
  if (!coll) throw new EngineError(26, "NamespaceNotFound", `ns does not exist: ${ctx.db}.${name}`);
  const batchSize = toNumber(optionalDoc(body.cursor)?.batchSize);
  return {
    cursor: ctx.cursors.first(`${ctx.db}.$cmd.listIndexes.${name}`, coll.listIndexes(), batchSize),
    ok: 1,
  };
};

const dropIndexes: CommandHandler = (body, ctx) => {
  const name = targetCollection(body, "dropIndexes");
  const coll = ctx.engine.db(ctx.db).existing(name);
  if (!coll) throw new EngineError(26, "NamespaceNotFound", `ns not found ${ctx.db}.${name}`);
  const nIndexesWas = coll.indexCount;
  const target = body.index;
  if (target === "*") coll.dropIndexes();
  else if (typeof target === "string") coll.dropIndex(target);
  else if (Array.isArray(target)) for (const n of target) coll.dropIndex(String(n));
  else if (optionalDoc(target)) {
    const wanted = JSON.stringify(target);
    const match = coll.listIndexes().find((i) => JSON.stringify(i.key) === wanted);
    if (!match) throw new EngineError(27, "IndexNotFound", `can't find index with key: ${wanted}`);
    coll.dropIndex(String(match.name));
  }
  return { nIndexesWas, ok: 1 };
};

const listCollections: CommandHandler = (body, ctx) => {
  const db = ctx.engine.db(ctx.db);
  const all = db.listCollections();
  const filter = optionalDoc(body.filter) ?? {};
  const filtered = Object.keys(filter).length
    ? all.filter((info) => new Query(filter).test(info))
    : all;
  const docs =
    body.nameOnly === true ? filtered.map((c) => ({ name: c.name, type: c.type })) : filtered;
  const batchSize = toNumber(optionalDoc(body.cursor)?.batchSize);
  return { cursor: ctx.cursors.first(`${ctx.db}.$cmd.listCollections`, docs, batchSize), ok: 1 };
};

/** Collection options that would change what later writes and reads do: refused, never ignored. */
const CREATE_REFUSED = [
  "viewOn",
  "pipeline",
  "validator",
  "capped",
  "timeseries",
  "clusteredIndex",
  "expireAfterSeconds",
  "changeStreamPreAndPostImages",
  "collation",
  "encryptedFields",
];

const create: CommandHandler = (body, ctx) => {
  refuseUnsupported(body, CREATE_REFUSED);
  ctx.engine.db(ctx.db).create(targetCollection(body, "create"));
  return { ok: 1 };
};

const drop: CommandHandler = (body, ctx) => {
  const name = targetCollection(body, "drop");
  const db = ctx.engine.db(ctx.db);
  const nIndexesWas = db.existing(name)?.indexCount ?? 0;
  db.drop(name);
  return { nIndexesWas, ns: `${ctx.db}.${name}`, ok: 1 };
};

const dropDatabase: CommandHandler = (_body, ctx) => {
  ctx.engine.dropDatabase(ctx.db);
  return { dropped: ctx.db, ok: 1 };
};

const listDatabases: CommandHandler = (body, ctx) => {
  const names = ctx.engine.listDatabases();
  const databases = names.map((name) =>
    body.nameOnly === true ? { name } : { name, sizeOnDisk: 0, empty: false },
  );
  return { databases, totalSize: 0, ok: 1 };
};

export const adminCommands: Record<string, CommandHandler> = {
  createIndexes,
  listIndexes,
  dropIndexes,
  deleteIndexes: dropIndexes,
  listCollections,
  create,
  drop,
  dropDatabase,
  listDatabases,
  collMod: () => {
    throw notImplemented("collMod (views, validators, TTL changes)");
  },
};
