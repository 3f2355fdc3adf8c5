import type { Document } from "bson";
import { type OutputTarget, splitOutputStage, writeOutput } from "./aggregate-output";
import { ChangeLog, ClusterClock } from "./change-log";
import { type ChangeStreamSpec, EngineChangeStream } from "./change-stream";
import { EngineCollection } from "./collection";
import { EngineError } from "./errors";
import type { AggregateSpec } from "./query";

export class EngineDatabase implements OutputTarget {
  private readonly collections = new Map<string, EngineCollection>();
  /** Every committed write of this database, for change streams. */
  readonly changes: ChangeLog;

  constructor(
    readonly name: string,
    readonly clock: ClusterClock = new ClusterClock(),
    changeHistory = DEFAULT_CHANGE_HISTORY,
  ) {
    this.changes = new ChangeLog(clock, changeHistory);
  }

  /** The collection, created on first use as MongoDB does on first write. */
  collection(name: string): EngineCollection {
    let coll = this.collections.get(name);
    if (!coll) {
      validateCollectionName(name);
      coll = new EngineCollection(
        this.name,
        name,
        (other) => this.collections.get(other)?.rawDocuments() ?? [],
        // No history kept (a standalone has no oplog): writes pay nothing for it.
        this.changes.capacity > 0
          ? (write) => this.changes.record({ coll: name, ...write })
          : undefined,
      );
      this.collections.set(name, coll);
    }
    return coll;
  }

  /** The collection if it exists (reads must not create collections). */
  existing(name: string): EngineCollection | undefined {
    return this.collections.get(name);
  }

  /**
   * Runs a pipeline over a collection (or over nothing, for `aggregate: 1`); a final `$out` or
   * `$merge` writes its result into this database and the pipeline returns no documents.
   */
  aggregate(
    collection: string | undefined,
    pipeline: Document[],
    spec: AggregateSpec = {},
  ): Document[] {
    const { stages, output } = splitOutputStage(pipeline);
    const source = collection ? this.existing(collection) : undefined;
    // A missing collection aggregates as empty without being created (reads never create).
    const docs = (
      source ??
      new EngineCollection(
        this.name,
        collection ?? "$cmd.aggregate",
        (other) => this.collections.get(other)?.rawDocuments() ?? [],
      )
    ).aggregate(stages, spec);
    if (!output) return docs;
    writeOutput(this, output, docs);
    return [];
  }

  /** `$out`: the new documents replace the old ones only if every one of them fits the indexes. */
  replaceDocuments(name: string, docs: Document[]): void {
    validateCollectionName(name);
    const old = this.collections.get(name);
    const next = new EngineCollection(
      this.name,
      name,
      (other) => this.collections.get(other)?.rawDocuments() ?? [],
    );
    for (const index of old?.listIndexes() ?? []) {
      if (index.name === "_id_") continue;
      next.createIndex({
        key: index.key as Record<string, 1 | -1>,
        name: String(index.name),
        unique: index.unique === true,
        sparse: index.sparse === true,
      });
    }
    for (const doc of docs) next.insertOne(doc);
    this.collections.set(name, next);
  }

  create(name: string): void {
    if (this.collections.has(name)) {
      throw new EngineError(
        48,
        "NamespaceExists",
        `Collection ${this.name}.${name} already exists.`,
      );
    }
    this.collection(name);
  }

  drop(name: string): boolean {
    return this.collections.delete(name);
  }

  listCollections(): Document[] {
    return [...this.collections.keys()].map((name) => ({
      name,
      type: "collection",
      options: {},
      info: { readOnly: false },
      idIndex: { v: 2, key: { _id: 1 }, name: "_id_" },
    }));
  }

  /** Opens a change stream on one collection, or on every collection with `coll` null. */
  watch(
    coll: string | null,
    spec: ChangeStreamSpec = {},
    pipeline: Document[] = [],
  ): EngineChangeStream {
    const source = {
      db: this.name,
      log: this.changes,
      lookup: (c: string, key: Document) => this.existing(c)?.findOne({ _id: key._id }) ?? null,
      clusterTime: () => this.clock.current,
    };
    return new EngineChangeStream(source, coll, spec, pipeline);
  }

  get isEmpty(): boolean {
    return this.collections.size === 0;
  }
}

/** Events kept per database before the oldest fall off (mongod's oplog is bounded by size). */
export const DEFAULT_CHANGE_HISTORY = 100_000;

function validateCollectionName(name: string): void {
  if (!name || name.includes("\u0000") || name.startsWith("system.") || name.includes("$")) {
    throw new EngineError(73, "InvalidNamespace", `Invalid collection name: ${name}`);
  }
}
