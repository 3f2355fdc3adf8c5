import type { StreamEntry } from "../../core/ports/queue-store";

/** `<ms>-<seq>` as Redis Streams shape it, compared part by part. */
type StreamId = readonly [ms: number, seq: number];

interface Pending {
  consumer: string;
  deliveredAt: number;
}

interface Group {
  lastDelivered: StreamId;
  pending: Map<string, Pending>;
}

interface Stream {
  entries: Map<string, Record<string, string>>;
  last: StreamId;
  groups: Map<string, Group>;
}

interface Hash {
  fields: Map<string, string>;
  expiresAt: number;
}

/**
 * The write-behind part of the embedded cache: streams with consumer groups and overlay hashes,
 * behaving as the Redis commands and scripts of RedisCacheStore do (test/contract runs the same
 * suite on both). Entries are kept in id order, which is insertion order.
 */
export class MemoryWriteBehind {
  private readonly streams = new Map<string, Stream>();
  private readonly hashes = new Map<string, Hash>();
  private lastGen = 0;

  hashAccumulate(
    key: string,
    add: Readonly<Record<string, number>>,
    max: Readonly<Record<string, number>>,
    ttlSeconds: number,
  ): Record<string, string> {
    let h = this.hash(key);
    if (!h) {
      // Like TIME in µs on Redis: unique and increasing within this process.
      this.lastGen = Math.max(this.lastGen + 1, Date.now() * 1000);
      h = { fields: new Map([["gen", String(this.lastGen)]]), expiresAt: 0 };
      this.hashes.set(key, h);
    }
    for (const [f, n] of Object.entries(add))
      h.fields.set(f, String(Number(h.fields.get(f) ?? 0) + Math.trunc(n)));
    for (const [f, v] of Object.entries(max)) {
      const current = h.fields.get(f);
      if (current === undefined || v > Number(current)) h.fields.set(f, String(v));
    }
    h.expiresAt = Date.now() + Math.max(1, Math.ceil(ttlSeconds)) * 1000;
    return Object.fromEntries(h.fields);
  }

  hashGetAll(keys: readonly string[]): (Record<string, string> | null)[] {
    return keys.map((k) => {
      const h = this.hash(k);
      return h ? Object.fromEntries(h.fields) : null;
    });
  }

  streamAdd(key: string, fields: Readonly<Record<string, string>>, maxLen: number): string | null {
    const s = this.stream(key, true);
    if (s.entries.size >= maxLen) return null;
    const now = Date.now();
    s.last = now > s.last[0] ? [now, 0] : [s.last[0], s.last[1] + 1];
    const id = `${s.last[0]}-${s.last[1]}`;
    s.entries.set(id, { ...fields });
    return id;
  }

  streamEnsureGroup(key: string, group: string): void {
    const s = this.stream(key, true);
    if (!s.groups.has(group)) s.groups.set(group, { lastDelivered: [0, 0], pending: new Map() });
  }

  streamReadGroup(key: string, group: string, consumer: string, count: number): StreamEntry[] {
    this.streamEnsureGroup(key, group);
    const s = this.stream(key, true);
    const g = s.groups.get(group) as Group;
    const out: StreamEntry[] = [];
    const now = Date.now();
    for (const [id, fields] of s.entries) {
      if (out.length >= count) break;
      const parsed = parseId(id);
      if (compare(parsed, g.lastDelivered) <= 0) continue;
      g.lastDelivered = parsed;
      g.pending.set(id, { consumer, deliveredAt: now });
      out.push({ id, fields: { ...fields } });
    }
    return out;
  }

  streamAutoClaim(
    key: string,
    group: string,
    consumer: string,
    minIdleMs: number,
    count: number,
  ): StreamEntry[] {
    const g = this.stream(key, false)?.groups.get(group);
    const s = this.stream(key, false);
    if (!g || !s) return [];
    const now = Date.now();
    const out: StreamEntry[] = [];
    const ids = [...g.pending.keys()].sort((a, b) => compare(parseId(a), parseId(b)));
    for (const id of ids) {
      if (out.length >= count) break;
      const p = g.pending.get(id) as Pending;
      if (now - p.deliveredAt < minIdleMs) continue;
      const fields = s.entries.get(id);
      // Deleted while pending: Redis 7 drops it from the pending list.
      if (!fields) {
        g.pending.delete(id);
        continue;
      }
      g.pending.set(id, { consumer, deliveredAt: now });
      out.push({ id, fields: { ...fields } });
    }
    return out;
  }

  streamAckDelete(key: string, group: string, ids: readonly string[]): number {
    const s = this.stream(key, false);
    if (!s) return 0;
    const g = s.groups.get(group);
    let acked = 0;
    for (const id of ids) {
      if (g?.pending.delete(id)) acked++;
      s.entries.delete(id);
    }
    return acked;
  }

  streamBacklog(key: string): { length: number; oldestId: string | null } {
    const s = this.stream(key, false);
    if (!s) return { length: 0, oldestId: null };
    const first = s.entries.keys().next();
    return { length: s.entries.size, oldestId: first.done ? null : first.value };
  }

  /** DEL of a stream or hash key: true when it existed. */
  delete(key: string): boolean {
    const hadHash = this.hash(key) !== undefined && this.hashes.delete(key);
    return this.streams.delete(key) || hadHash;
  }

  /** TTL in seconds as Redis rounds it; -1 for a stream (no expiry); undefined: not ours. */
  ttl(key: string): number | undefined {
    if (this.streams.has(key)) return -1;
    const h = this.hash(key);
    return h ? Math.round((h.expiresAt - Date.now()) / 1000) : undefined;
  }

  private stream(key: string, create: true): Stream;
  private stream(key: string, create: false): Stream | undefined;
  private stream(key: string, create: boolean): Stream | undefined {
    let s = this.streams.get(key);
    if (!s && create) {
      s = { entries: new Map(), last: [0, 0], groups: new Map() };
      this.streams.set(key, s);
    }
    return s;
  }

  private hash(key: string): Hash | undefined {
    const h = this.hashes.get(key);
    if (h && h.expiresAt <= Date.now()) {
      this.hashes.delete(key);
      return undefined;
    }
    return h;
  }
}

function parseId(id: string): StreamId {
  const [ms, seq] = id.split("-");
  return [Number(ms), Number(seq)];
}

function compare(a: StreamId, b: StreamId): number {
  return a[0] - b[0] || a[1] - b[1];
}
