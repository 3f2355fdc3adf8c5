import { ObjectId } from "bson";
import type { ProtectionName } from "../../plugins/cache/cache-sync/protections";
import { type SanitizedUser, USER_COLLECTION, type UserDoc } from "../../plugins/features/users";
import { startJitteredDeployment } from "../../test/support/jittered-deployment";
import { startRedis } from "../../test/support/redis-server";
import { seedListing } from "../../test/support/seed";
import {
  describeStaleCheck,
  runStaleCheck,
  type StaleCheckOptions,
  type StaleCheckResult,
  waitConverged,
} from "../../test/support/stale-checker";
import { seedBenchUser, startMongoProcess } from "../lib/env";
import { type Section, type SectionResult, table } from "../lib/report";
import { fmt } from "../lib/stats";

const READ_TARGET = 1_000_000;

/**
 * Figure 6: the stale-read checker of docs/CONSISTENCY.md at scale. Two API instances, each
 * talking to Redis and to MongoDB through its own jittering proxy (0–4 ms per chunk, order kept),
 * 20 users of which one is hot, 4 writers alternating instances (PATCH /users/me), reads arriving
 * on both instances, an invalidation and an eviction (plain DEL on Redis) every 20 ms, the
 * nemesis of test:consistency (stalls, evictions at their edges), and redis-server SIGKILLed and
 * restarted twice. A read is stale when its version is below the
 * highest version acknowledged before it began. Then the mutation lines: the same checker, short,
 * with one protection switched off, so the zero above is shown to be able to be non-zero.
 */
export const soakSection: Section = async (ctx): Promise<SectionResult> => {
  const redis = await startRedis();
  const mongo = await startMongoProcess();
  const d = await startJitteredDeployment({
    redis,
    mongoUrl: mongo.url,
    env: {
      LOG_LEVEL: "silent",
      CACHE_MARKER_TTL_MS: 5000,
      REDIS_TIMEOUT_MS: 400,
      BREAKER_COOLDOWN_MS: 500,
    },
  });
  try {
    const [first] = d.stacks;
    if (!first) throw new Error("no instance");
    const users: SanitizedUser[] = [];
    for (let i = 0; i < 20; i++) users.push(await seedBenchUser(first));
    const ids = users.map((u) => u.id);
    const hot = ids.slice(0, 1);
    const instances = await d.checked(ids);
    const raw = first.ctx.stores.db.collection<UserDoc>(USER_COLLECTION);
    const engine = first.ctx.use("cacheEngine");

    /** strict: cached == MongoDB (once the load stopped); otherwise cached ≥ what MongoDB had first. */
    const converged = (strict: boolean) => async () => {
      for (const id of ids) {
        const doc = await raw.findOne({ _id: new ObjectId(id) });
        const cached = await d.raw.get(engine.userKey(id));
        if (cached === null || cached.startsWith('{"__')) continue;
        const v = (JSON.parse(cached) as { version: number }).version;
        if (strict ? v !== doc?.version : v < (doc?.version ?? 0)) return false;
      }
      return true;
    };

    const target = ctx.quick ? READ_TARGET / 10 : READ_TARGET;
    const downMs = ctx.quick ? 1000 : 3000;
    const base: StaleCheckOptions = {
      instances,
      userIds: ids,
      durationMs: 15 * 60_000,
      writers: 4,
      readEveryMs: 1,
      readBurst: 16,
      maxInFlight: 512,
      evict: d.evict,
      evictEveryMs: 20,
      invalidateEveryMs: 20,
    };
    const convergence: number[] = [];
    const faultLog: string[] = [];
    const t0 = performance.now();
    const at = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;
    ctx.log(`soak: until ${fmt.int(target)} checked reads, Redis killed twice for ${downMs} ms`);
    const killTwice = async ({
      running,
      reads,
    }: {
      running: () => boolean;
      reads: () => number;
    }) => {
      for (const share of [0.2, 0.6]) {
        for (let n = 1; running() && reads() < target * share; n++) {
          await Bun.sleep(50);
          if (n % 200 === 0) ctx.log(`  … ${at()}: ${fmt.int(reads())} reads`);
        }
        if (!running()) return;
        await redis.kill();
        faultLog.push(`killed at ${at()} (${fmt.int(reads())} reads)`);
        await Bun.sleep(downMs);
        await redis.restart();
        const restarted = performance.now();
        faultLog.push(`restarted at ${at()}`);
        try {
          await waitConverged(converged(false), 20_000);
          convergence.push(performance.now() - restarted);
        } catch {
          convergence.push(Number.POSITIVE_INFINITY);
        }
      }
    };
    const res = await runStaleCheck({
      ...base,
      maxReads: target,
      // The kills, and the nemesis of test:consistency all along (stalls, evictions at their edges).
      fault: async (load) => {
        await Promise.all([killTwice(load), d.nemesis({ running: load.running, evict: hot })]);
      },
    });
    let finalMs = Number.NaN;
    try {
      finalMs = await waitConverged(converged(true), 20_000);
    } catch {
      finalMs = Number.POSITIVE_INFINITY;
    }
    ctx.log(`soak: ${describeStaleCheck(res)}`);

    // Listings, the second cached collection: the same checker and nemesis (no Redis kill).
    const listingIds: string[] = [];
    for (let i = 0; i < 20; i++) listingIds.push((await seedListing(first.ctx)).id);
    const listingTarget = target / 2;
    ctx.log(`soak, listings: until ${fmt.int(listingTarget)} checked reads`);
    const listingsRes = await runStaleCheck({
      ...base,
      instances: d.checkedListings(),
      userIds: listingIds,
      evict: d.evictIn("listings"),
      maxReads: listingTarget,
      fault: ({ running }) =>
        d.nemesis({ running, evict: listingIds.slice(0, 1), collection: "listings" }),
    });
    ctx.log(`soak, listings: ${describeStaleCheck(listingsRes)}`);

    // The mutation lines: the same load without the Redis kills, each protection off in turn.
    // As test/consistency: the hot user alone; tombstones with leases off and no evictions
    // (an eviction is a DEL no tombstone stands in for; docs/CONSISTENCY.md).
    const mutations: [ProtectionName[], string, boolean][] = [
      [["versionedWrites"], "versioned writes off (set-if-newer → plain SET)", true],
      [["fillLeases"], "fill leases off", true],
      [["singleFlightRule"], "single-flight rule off", true],
      [["fillLeases", "tombstones"], "fill leases and tombstones off (no evictions)", false],
    ];
    const mutationMs = ctx.quick ? 8000 : 20_000;
    const mutationRows: string[][] = [];
    for (const [off, label, evictions] of mutations) {
      for (const p of off) d.setProtection(p, false);
      let r: StaleCheckResult;
      try {
        r = await runStaleCheck({
          ...base,
          userIds: hot,
          readEveryMs: 2,
          readBurst: 1,
          pinWriters: true,
          evict: evictions ? d.evict : undefined,
          durationMs: mutationMs,
          fault: ({ running }) => d.nemesis({ running, evict: evictions ? hot : [] }),
        });
      } finally {
        for (const p of off) d.setProtection(p, true);
      }
      ctx.log(`mutation, ${label}: ${describeStaleCheck(r)}`);
      mutationRows.push([
        label,
        fmt.int(r.reads),
        fmt.int(r.stale),
        r.stale ? `${((r.stale / r.reads) * 100).toFixed(3)} %` : "0",
        String(r.maxLag),
      ]);
      await waitConverged(converged(true), 20_000).catch(() => undefined);
    }

    const body = [
      `The checker of docs/CONSISTENCY.md (test/support/stale-checker.ts) until ${fmt.int(target)} checked reads${ctx.quick ? " (quick mode; 1,000,000 in the full run)" : ""}: two API instances, each talking to Redis and to MongoDB through its own fault proxy delaying every chunk by 0–4 ms (order kept per connection), 20 users (half of all operations on one hot user), 4 writers alternating instances (PATCH /users/me), reads arriving on both instances (open loop, up to 512 in flight each), an invalidation (invalidateUserCache) and an eviction (a plain DEL on Redis) every 20 ms, and all along the nemesis of \`bun run test:consistency\`: one instance's MongoDB replies or Redis requests stalled for 100 ms of every 150 ms, the hot user evicted as each stall begins and right before it ends. ` +
        `A read is stale when its version is below the highest version acknowledged (any instance) before it began. redis-server SIGKILLed at 20 % and 60 % of the reads and restarted on the same port (empty, like a crash) after ${downMs} ms; REDIS_TIMEOUT_MS=400, BREAKER_COOLDOWN_MS=500. MongoDB: the wire-protocol test server in its own process. Fault timeline: ${faultLog.join(", ")}.`,
      "",
      table(
        [
          "reads checked",
          "stale reads",
          "writes",
          "invalidations",
          "evictions",
          "errors (failed calls)",
          "duration s",
          "convergence after each restart ms",
          "final strict convergence ms",
        ],
        [
          [
            fmt.int(res.reads),
            fmt.int(res.stale),
            fmt.int(res.writes),
            fmt.int(res.invalidations),
            fmt.int(res.evictions),
            fmt.int(res.errors),
            (res.ms / 1000).toFixed(0),
            convergence.map((c) => fmt.ms(c)).join(", "),
            fmt.ms(finalMs),
          ],
        ],
      ),
      res.samples.length ? `\nStale samples: \`${JSON.stringify(res.samples).slice(0, 800)}\`` : "",
      "",
      `Listings (the second cached collection, \`cache.listings.get/update/invalidate\`): the same load on 20 listings until ${fmt.int(listingTarget)} checked reads, the nemesis all along, no Redis kill.`,
      "",
      table(
        ["reads checked", "stale reads", "writes", "invalidations", "evictions", "duration s"],
        [
          [
            fmt.int(listingsRes.reads),
            fmt.int(listingsRes.stale),
            fmt.int(listingsRes.writes),
            fmt.int(listingsRes.invalidations),
            fmt.int(listingsRes.evictions),
            (listingsRes.ms / 1000).toFixed(0),
          ],
        ],
      ),
      listingsRes.samples.length
        ? `\nStale samples: \`${JSON.stringify(listingsRes.samples).slice(0, 800)}\``
        : "",
      "",
      `Mutation lines: the load of \`bun run test:consistency\` for ${mutationMs / 1000} s each — the hot user alone, a read every 2 ms on each instance, writers pinned two to each instance, no Redis kill; the nemesis as above (with no evictions on the tombstones line) — with protections switched off through the test-only switches (plugins/cache/cache-sync/protections.ts). Tombstones are the guard only where no lease is, hence their line with leases off too (docs/CONSISTENCY.md).`,
      "",
      table(
        ["protection off", "reads", "stale reads", "stale share", "max versions behind"],
        mutationRows,
      ),
    ].join("\n");
    return {
      id: "soak",
      title: "6. Consistency soak",
      body,
      targets: [
        {
          name: "zero stale reads in the soak (≥ 10⁶ checked reads, jitter, Redis killed twice)",
          value: `${res.stale} / ${fmt.int(res.reads)}`,
          target: "0",
          met: res.stale === 0 && res.reads >= target,
        },
        {
          name: "zero stale reads for listings (the same load, no Redis kill)",
          value: `${listingsRes.stale} / ${fmt.int(listingsRes.reads)}`,
          target: "0",
          met: listingsRes.stale === 0 && listingsRes.reads >= listingTarget,
        },
        {
          name: "the checker bites: stale reads with each protection off",
          value: mutationRows.map((r) => r[2]).join(" / "),
          target: "> 0 each",
          met: mutationRows.every((r) => r[2] !== "0"),
        },
      ],
    };
  } finally {
    await d.close().catch(() => undefined);
    await mongo.stop().catch(() => undefined);
    await redis.stop().catch(() => undefined);
  }
};
