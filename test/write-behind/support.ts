import { ObjectId } from "bson";
import { defaultPlugins } from "../../app/plugins";
import { type WriteBehindOptions, writeBehindPlugin } from "../../plugins/cache/write-behind";
import type { Stores } from "../../src/core/app";
import type { Plugin } from "../../src/core/plugin";
import type { Doc, DocumentStore } from "../../src/core/ports/document-store";
import type { TestStack } from "../support/stack";

/** The product's plugins with write-behind built from `options`. */
export function pluginsWith(options: WriteBehindOptions): Plugin[] {
  return defaultPlugins().map((p) => (p.name === "write-behind" ? writeBehindPlugin(options) : p));
}

export async function newListing(
  db: DocumentStore,
  fields: Record<string, unknown> = {},
): Promise<string> {
  const doc = await db.collection<Doc>("listings").insertOne({
    userId: new ObjectId(),
    title: "A bike",
    createdAt: new Date(),
    ...fields,
  });
  return doc._id.toHexString();
}

export async function storedViews(db: DocumentStore, id: string): Promise<number> {
  const doc = await db.collection<Doc>("listings").findOne({ _id: new ObjectId(id) });
  return typeof doc?.viewCount === "number" ? doc.viewCount : 0;
}

const WRITES = new Set([
  "insertOne",
  "updateOne",
  "updateMany",
  "findOneAndUpdate",
  "deleteOne",
  "deleteMany",
]);

/**
 * Counts the MongoDB write commands the app sends through the real store: every collection write
 * and every bulkUpdate (one `bulkWrite` command however many statements).
 */
export function countWrites(stores: Stores): { readonly count: number; reset(): void } {
  const db = stores.db;
  let count = 0;
  const collection = db.collection.bind(db);
  const bulkUpdate = db.bulkUpdate.bind(db);
  db.collection = ((name: string) => {
    const coll = collection(name) as unknown as Record<string, (...a: unknown[]) => unknown>;
    return new Proxy(coll, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (typeof prop !== "string" || !WRITES.has(prop) || typeof v !== "function") return v;
        return (...args: unknown[]) => {
          count++;
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  }) as unknown as DocumentStore["collection"];
  db.bulkUpdate = (name, ops) => {
    count++;
    return bulkUpdate(name, ops);
  };
  return {
    get count() {
      return count;
    },
    reset() {
      count = 0;
    },
  };
}

/** The wire test server's write commands since its stats were reset (null on MONGO_URL). */
export function wireWrites(stack: TestStack): number | null {
  const stats = stack.mongo?.stats.commands;
  if (!stats) return null;
  return ["insert", "update", "delete", "findAndModify"].reduce((n, c) => n + (stats[c] ?? 0), 0);
}
