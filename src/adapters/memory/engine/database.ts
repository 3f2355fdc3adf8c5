import type { Document } from "bson";
import { EngineCollection } from "./collection";
import { EngineError } from "./errors";

export class EngineDatabase {
  private readonly collections = new Map<string, EngineCollection>();

  constructor(readonly name: string) {}

  /** The collection, created on first use as MongoDB does on first write. */
  collection(name: string): EngineCollection {
    let coll = this.collections.get(name);
    if (!coll) {
      validateCollectionName(name);
      coll = new EngineCollection(
        this.name,
        name,
        (other) => this.collections.get(other)?.rawDocuments() ?? [],
      );
      this.collections.set(name, coll);
    }
    return coll;
  }

  /** The collection if it exists (reads must not create collections). */
  existing(name: string): EngineCollection | undefined {
    return this.collections.get(name);
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

  get isEmpty(): boolean {
    return this.collections.size === 0;
  }
}

function validateCollectionName(name: string): void {
  if (!name || name.includes("\u0000") || name.startsWith("system.") || name.includes("$")) {
    throw new EngineError(73, "InvalidNamespace", `Invalid collection name: ${name}`);
  }
}
