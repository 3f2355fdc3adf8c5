import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { CacheStore } from "../../src/core/ports/cache-store";

export interface CacheStoreSubject {
  store: CacheStore;
  /** Every key the suite writes starts with this, so a shared Redis is left as found. */
  prefix: string;
  teardown(): Promise<void>;
}

const user = (version: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ id: "u1", version, ...extra });
const versionOf = (value: string | null) =>
  value === null ? null : (JSON.parse(value) as { version: number }).version;

/** The behaviour every CacheStore adapter must share (SPEC §2 "No stale overwrite", §4). */
export function cacheStoreContract(name: string, open: () => Promise<CacheStoreSubject>) {
  describe(`CacheStore contract: ${name}`, () => {
    let subject: CacheStoreSubject;
    let store: CacheStore;
    let n = 0;
    /** A fresh key per test, so tests never see each other's entries. */
    const key = (label: string) => `${subject.prefix}${label}:${++n}`;

    beforeAll(async () => {
      subject = await open();
      store = subject.store;
    });
    afterAll(async () => {
      await subject?.teardown();
    });

    test("a miss is null; set stores with a TTL; ttl is -2 for a missing key", async () => {
      const k = key("plain");
      expect(await store.get(k)).toBeNull();
      expect(await store.ttl(k)).toBe(-2);
      await store.set(k, "v", 120);
      expect(await store.get(k)).toBe("v");
      const ttl = await store.ttl(k);
      expect(ttl).toBeGreaterThanOrEqual(119);
      expect(ttl).toBeLessThanOrEqual(120);
    });

    test("setIfNewer: versions only move forward, and the stored entry gets the TTL", async () => {
      const k = key("fwd");
      expect(await store.setIfNewer(k, user(1), 1, 300)).toBe(true);
      expect(await store.setIfNewer(k, user(1, { bio: "same version again" }), 1, 300)).toBe(false);
      expect(await store.setIfNewer(k, user(0), 0, 300)).toBe(false);
      expect(await store.setIfNewer(k, user(3), 3, 300)).toBe(true);
      expect(await store.setIfNewer(k, user(2), 2, 300)).toBe(false);
      expect(versionOf(await store.get(k))).toBe(3);
      expect(await store.ttl(k)).toBeGreaterThan(290);
    });

    test("setIfNewer: concurrent writes in any order leave the highest version", async () => {
      const k = key("race");
      const versions = Array.from({ length: 60 }, (_, i) => i + 1).sort(() => Math.random() - 0.5);
      const stored = await Promise.all(versions.map((v) => store.setIfNewer(k, user(v), v, 300)));
      expect(versionOf(await store.get(k))).toBe(60);
      expect(stored[versions.indexOf(60)]).toBe(true);
    });

    test("setIfNewer: an entry whose version cannot be read counts as -1", async () => {
      const k = key("garbage");
      await store.set(k, "not json", 300);
      expect(await store.setIfNewer(k, user(0), 0, 300)).toBe(true);
      expect(versionOf(await store.get(k))).toBe(0);
    });

    test("invalidateVersioned: the tombstone blocks older fills and admits equal or newer", async () => {
      const k = key("tomb");
      await store.setIfNewer(k, user(5), 5, 300);
      // An invalidation carrying an older version still keeps the stored one (max).
      await store.invalidateVersioned(k, 3, 10_000);
      expect(await store.get(k)).toBeNull();
      expect(await store.setIfNewer(k, user(4), 4, 300)).toBe(false);
      expect(await store.get(k)).toBeNull();
      expect(await store.setIfNewer(k, user(5), 5, 300)).toBe(true);
      expect(versionOf(await store.get(k))).toBe(5);
      // Live again: equal versions are refused once more.
      expect(await store.setIfNewer(k, user(5, { bio: "x" }), 5, 300)).toBe(false);
    });

    test("invalidateVersioned on a missing key leaves a marker with the given version and TTL", async () => {
      const k = key("tomb-missing");
      await store.invalidateVersioned(k, 7, 5_000);
      const ttl = await store.ttl(k);
      expect(ttl).toBeGreaterThanOrEqual(4);
      expect(ttl).toBeLessThanOrEqual(5);
      expect(await store.setIfNewer(k, user(6), 6, 300)).toBe(false);
      expect(await store.setIfNewer(k, user(8), 8, 300)).toBe(true);
      expect(versionOf(await store.get(k))).toBe(8);
    });

    test("invalidateVersioned raises the marker over a newer stored version, never lowers it", async () => {
      const k = key("tomb-max");
      await store.invalidateVersioned(k, 9, 10_000);
      await store.invalidateVersioned(k, 2, 10_000);
      expect(await store.setIfNewer(k, user(8), 8, 300)).toBe(false);
      expect(await store.setIfNewer(k, user(9), 9, 300)).toBe(true);
    });

    test("a tombstone occupies its key (scan finds it) yet reads as a miss", async () => {
      const k = key("tomb-scan");
      await store.invalidateVersioned(k, 12, 10_000);
      const found: string[] = [];
      await store.scan(k, (keys) => void found.push(...keys));
      expect(found).toEqual([k]);
      expect(await store.get(k)).toBeNull();
      expect(await store.mget([k])).toEqual([null]);
    });

    test("a tombstone expires after markerTtlMs, then any version is admitted", async () => {
      const k = key("tomb-expiry");
      await store.invalidateVersioned(k, 50, 60);
      await Bun.sleep(150);
      expect(await store.ttl(k)).toBe(-2);
      expect(await store.setIfNewer(k, user(1), 1, 300)).toBe(true);
    });

    test("fill leases: a lease reads as a miss and admits only its holder's fill", async () => {
      const k = key("lease");
      expect(await store.acquireFillLease(k, "A", 10_000)).toBe(true);
      expect(await store.acquireFillLease(k, "B", 10_000)).toBe(false);
      expect(await store.get(k)).toBeNull();
      expect(await store.setIfNewer(k, user(3), 3, 300, "B")).toBe(false);
      expect(await store.setIfNewer(k, user(3), 3, 300, "A")).toBe(true);
      expect(versionOf(await store.get(k))).toBe(3);
      // Once a value is there, versions rule as before; a lease cannot be taken over a value.
      expect(await store.acquireFillLease(k, "C", 10_000)).toBe(false);
      expect(await store.setIfNewer(k, user(2), 2, 300, "A")).toBe(false);
    });

    test("a fill never lands in an absent key (its newer entry may have been evicted)", async () => {
      const k = key("lease-evicted");
      expect(await store.acquireFillLease(k, "A", 10_000)).toBe(true);
      expect(await store.setIfNewer(k, user(5), 5, 300)).toBe(true); // write-through replaces the lease
      await store.del([k]); // eviction under memory pressure
      expect(await store.setIfNewer(k, user(4), 4, 300, "A")).toBe(false);
      expect(await store.get(k)).toBeNull();
      expect(await store.setIfNewer(k, user(6), 6, 300)).toBe(true); // a write-through still lands
    });

    test("an invalidation replaces a lease with a tombstone the held fill must respect", async () => {
      const k = key("lease-tomb");
      await store.acquireFillLease(k, "A", 10_000);
      await store.invalidateVersioned(k, 7, 10_000);
      expect(await store.setIfNewer(k, user(6), 6, 300, "A")).toBe(false);
      expect(await store.setIfNewer(k, user(7), 7, 300, "A")).toBe(true);
    });

    test("setIfNewer carried times: a live entry holding a later one refuses, an earlier one does not", async () => {
      const k = key("carried");
      const at = (t: string) => ({ lastSeenAt: t });
      const early = "2026-01-01T00:00:00.000Z";
      const late = "2026-01-02T00:00:00.000Z";
      expect(await store.setIfNewer(k, user(1, at(late)), 1, 300, undefined, at(late))).toBe(true);
      // Newer version, earlier time: refused (the caller takes the later time and writes again).
      expect(await store.setIfNewer(k, user(2, at(early)), 2, 300, undefined, at(early))).toBe(
        false,
      );
      expect(await store.setIfNewer(k, user(2), 2, 300, undefined, at(""))).toBe(false);
      expect(await store.setIfNewer(k, user(2, at(late)), 2, 300, undefined, at(late))).toBe(true);
      // Without carried times (another collection, the protection off) only versions count.
      expect(await store.setIfNewer(k, user(3, at(early)), 3, 300)).toBe(true);
      // A fill's lease holds no time: its holder lands whatever it carries.
      const f = key("carried-lease");
      expect(await store.acquireFillLease(f, "tok", 5000)).toBe(true);
      expect(await store.setIfNewer(f, user(1), 1, 300, "tok", at(""))).toBe(true);
    });

    test("raiseLatest: absent or tombstoned keys are left alone, a lease is deleted unless told not to", async () => {
      const times = { lastSeenAt: "2026-01-02T00:00:00.000Z" };
      const absent = key("raise-absent");
      expect(await store.raiseLatest(absent, times)).toBeNull();
      expect(await store.ttl(absent)).toBe(-2);
      const tomb = key("raise-tomb");
      await store.invalidateVersioned(tomb, 4, 5000);
      expect(await store.raiseLatest(tomb, times)).toBeNull();
      expect(await store.ttl(tomb)).toBeGreaterThan(0);
      const leased = key("raise-lease");
      await store.acquireFillLease(leased, "tok", 5000);
      expect(await store.raiseLatest(leased, times, undefined, false)).toBeNull();
      expect(await store.setIfNewer(leased, user(1), 1, 300, "tok")).toBe(true);
      const leased2 = key("raise-lease2");
      await store.acquireFillLease(leased2, "tok", 5000);
      expect(await store.raiseLatest(leased2, times)).toBeNull();
      // The lease is gone: its fill no longer lands.
      expect(await store.setIfNewer(leased2, user(1), 1, 300, "tok")).toBe(false);
    });

    test("raiseLatest: a live entry is swapped only while unchanged, its TTL kept", async () => {
      const k = key("raise-live");
      const times = { lastSeenAt: "2026-01-02T00:00:00.000Z" };
      const old = user(1, { lastSeenAt: "2026-01-01T00:00:00.000Z" });
      await store.setIfNewer(k, old, 1, 300);
      expect(await store.raiseLatest(k, times)).toBe(old);
      const raised = user(1, times);
      // Changed meanwhile: not swapped, the current value comes back.
      expect(await store.raiseLatest(k, times, { expected: "stale", replacement: raised })).toBe(
        old,
      );
      expect(await store.raiseLatest(k, times, { expected: old, replacement: raised })).toBeNull();
      expect(await store.get(k)).toBe(raised);
      expect(await store.ttl(k)).toBeGreaterThan(290);
      // As late already: nothing to do.
      expect(await store.raiseLatest(k, times)).toBeNull();
      expect(await store.raiseLatest(k, { lastSeenAt: "2025-01-01T00:00:00.000Z" })).toBeNull();
    });

    test("mget keeps order, reads misses and tombstones as null", async () => {
      const [a, b, c, d] = [key("m"), key("m"), key("m"), key("m")];
      await store.setIfNewer(a, user(1), 1, 300);
      await store.set(b, "plain", 300);
      await store.setIfNewer(c, user(2), 2, 300);
      await store.invalidateVersioned(c, 2, 10_000);
      const got = await store.mget([a, b, c, d]);
      expect(got).toEqual([user(1), "plain", null, null]);
      expect(await store.mget([])).toEqual([]);
    });

    test("entries expire after their TTL", async () => {
      const k = key("expire");
      await store.set(k, "short", 1);
      expect(await store.get(k)).toBe("short");
      await Bun.sleep(1_100);
      expect(await store.get(k)).toBeNull();
      expect(await store.ttl(k)).toBe(-2);
    });

    test("del returns how many of the keys existed", async () => {
      const [a, b, c] = [key("del"), key("del"), key("del")];
      await store.set(a, "1", 300);
      await store.set(b, "2", 300);
      expect(await store.del([a, b, c])).toBe(2);
      expect(await store.mget([a, b])).toEqual([null, null]);
      expect(await store.del([])).toBe(0);
    });

    test("scanCount counts 1200 matching keys with SCAN; scan visits each of them", async () => {
      const base = `${subject.prefix}scan:${++n}:`;
      const keys = Array.from({ length: 1200 }, (_, i) => `${base}user:${i}`);
      await Promise.all(keys.map((k) => store.set(k, "x", 300)));
      await Promise.all([
        store.set(`${base}other:1`, "x", 300),
        store.set(`${base}userx`, "x", 300),
      ]);

      expect(await store.scanCount(`${base}user:*`)).toBe(1200);
      const seen = new Set<string>();
      let batches = 0;
      await store.scan(`${base}user:*`, async (batch) => {
        batches++;
        for (const k of batch) seen.add(k);
      });
      expect(seen.size).toBe(1200);
      expect(batches).toBeGreaterThan(1);
      expect(await store.scanCount(`${base}user:1?`)).toBe(10);
      expect(await store.scanCount(`${base}nothing:*`)).toBe(0);
      await store.del([...keys, `${base}other:1`, `${base}userx`]);
    });

    test("scan globs: character classes, ranges and negation match as Redis's do", async () => {
      const base = `${subject.prefix}glob:${++n}:`;
      const names = ["a1", "b2", "c3", "f9", "g0", "A1", "]x", "-y"];
      await Promise.all(names.map((k) => store.set(`${base}${k}`, "x", 300)));
      const count = (p: string) => store.scanCount(`${base}${p}`);
      expect(await count("[a-f][0-9]")).toBe(4);
      expect(await count("[abc]?")).toBe(3);
      expect(await count("[^a-f]?")).toBe(4);
      expect(await count("[f-a]9")).toBe(1);
      expect(await count("[\\]]x")).toBe(1);
      expect(await count("[-]y")).toBe(1);
      // The admin stats pattern: exactly 24 hex characters after `user:`.
      const id = "0123456789abcdef01234567";
      await store.set(`${base}user:${id}`, "x", 300);
      await store.set(`${base}user:email:a@b.c`, "x", 300);
      expect(await count(`user:${"[0-9a-f]".repeat(24)}`)).toBe(1);
      await store.del([
        ...names.map((k) => `${base}${k}`),
        `${base}user:${id}`,
        `${base}user:email:a@b.c`,
      ]);
    });

    test("locks: NX, released only by the holder's token, expire by themselves", async () => {
      const k = key("lock");
      expect(await store.acquireLock(k, "a", 5_000)).toBe(true);
      expect(await store.acquireLock(k, "b", 5_000)).toBe(false);
      await store.releaseLock(k, "b");
      expect(await store.acquireLock(k, "b", 5_000)).toBe(false);
      await store.releaseLock(k, "a");
      expect(await store.acquireLock(k, "b", 60)).toBe(true);
      await Bun.sleep(150);
      expect(await store.acquireLock(k, "c", 5_000)).toBe(true);
    });

    test("locks: of many concurrent acquirers exactly one wins", async () => {
      const k = key("lock-race");
      const won = await Promise.all(
        Array.from({ length: 40 }, (_, i) => store.acquireLock(k, `t${i}`, 5_000)),
      );
      expect(won.filter(Boolean)).toHaveLength(1);
    });

    test("incrWithExpiry counts atomically and sets the expiry on the first increment only", async () => {
      const k = key("counter");
      expect(await store.incrWithExpiry(k, 60)).toBe(1);
      expect(await store.ttl(k)).toBeGreaterThanOrEqual(59);
      const counts = await Promise.all(
        Array.from({ length: 49 }, () => store.incrWithExpiry(k, 3_600)),
      );
      expect(new Set(counts).size).toBe(49);
      expect(Math.max(...counts)).toBe(50);
      // Later increments do not extend the window.
      expect(await store.ttl(k)).toBeLessThanOrEqual(60);
    });

    test("incrWithExpiry: the counter window ends with its TTL", async () => {
      const k = key("counter-expiry");
      await store.incrWithExpiry(k, 1);
      await store.incrWithExpiry(k, 1);
      await Bun.sleep(1_100);
      expect(await store.incrWithExpiry(k, 1)).toBe(1);
    });

    test("ping resolves and the store reports itself connected", async () => {
      await store.ping();
      expect(store.isConnected()).toBe(true);
    });
  });
}
