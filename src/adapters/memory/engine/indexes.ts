import type { Document } from "bson";
import { canonicalKey, getPath, hasPath } from "./keys";

export interface IndexDefinition {
  name: string;
  key: Record<string, 1 | -1>;
  unique: boolean;
  sparse: boolean;
}

export function defaultIndexName(key: Record<string, unknown>): string {
  return Object.entries(key)
    .map(([field, dir]) => `${field}_${String(dir)}`)
    .join("_");
}

/**
 * One index of a collection. Only unique indexes keep entries (key → owning document's id key):
 * they exist to refuse duplicates and to answer equality lookups; other indexes are metadata.
 */
export class Index {
  private readonly entries = new Map<string, string>();

  constructor(readonly def: IndexDefinition) {}

  get fields(): string[] {
    return Object.keys(this.def.key);
  }

  /** The index keys a document produces (several when an indexed field holds an array). */
  keysOf(doc: Document): string[] {
    const fields = this.fields;
    if (this.def.sparse && !fields.some((f) => hasPath(doc, f))) return [];
    let keys: string[][] = [[]];
    for (const field of fields) {
      const value = getPath(doc, field);
      const variants = Array.isArray(value) ? (value.length ? value : [undefined]) : [value];
      const next: string[][] = [];
      for (const prefix of keys) for (const v of variants) next.push([...prefix, canonicalKey(v)]);
      keys = next;
    }
    return [...new Set(keys.map((k) => k.join("|")))];
  }

  /** The id key of another document already holding one of `doc`'s keys, if any. */
  conflict(doc: Document, ownIdKey: string): string | undefined {
    if (!this.def.unique) return undefined;
    for (const key of this.keysOf(doc)) {
      const owner = this.entries.get(key);
      if (owner !== undefined && owner !== ownIdKey) return owner;
    }
    return undefined;
  }

  add(doc: Document, idKey: string): void {
    if (!this.def.unique) return;
    for (const key of this.keysOf(doc)) this.entries.set(key, idKey);
  }

  remove(doc: Document, idKey: string): void {
    if (!this.def.unique) return;
    for (const key of this.keysOf(doc))
      if (this.entries.get(key) === idKey) this.entries.delete(key);
  }

  /** Equality lookup for a single-field unique index (`undefined` when this index cannot answer). */
  lookup(value: unknown): string | null | undefined {
    if (!this.def.unique || this.fields.length !== 1 || Array.isArray(value)) return undefined;
    // A sparse index holds no entry for documents lacking the field, which `null` also matches.
    if (this.def.sparse && (value === null || value === undefined)) return undefined;
    return this.entries.get(canonicalKey(value)) ?? null;
  }

  /** keyValue for the E11000 message, as the server reports it. */
  keyValueOf(doc: Document): Document {
    const out: Document = {};
    for (const field of this.fields) out[field] = getPath(doc, field) ?? null;
    return out;
  }

  info(): Document {
    const out: Document = { v: 2, key: this.def.key, name: this.def.name };
    if (this.def.unique && this.def.name !== "_id_") out.unique = true;
    if (this.def.sparse) out.sparse = true;
    return out;
  }
}
