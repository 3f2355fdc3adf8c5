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

/**
 * The write-behind part of the embedded cache: streams with consumer groups (overlays are plain entries),
 * behaving as the Redis commands and scripts of RedisCacheStore do (test/contract runs the same
 * suite on both). Entries are kept in id order, which is insertion order.
 */
export class MemoryWriteBehind {
  private readonly streams = new Map<string, Stream>();

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

  /** DEL of a stream key: true when it existed. */
  delete(key: string): boolean {
    return this.streams.delete(key);
  }

  /** -1 for a stream (no expiry); undefined: not ours. */
  ttl(key: string): number | undefined {
    return this.streams.has(key) ? -1 : undefined;
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
}

function parseId(id: string): StreamId {
  const [ms, seq] = id.split("-");
  return [Number(ms), Number(seq)];
}

function compare(a: StreamId, b: StreamId): number {
  return a[0] - b[0] || a[1] - b[1];
}
