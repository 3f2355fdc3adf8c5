import { ObjectId } from "bson";
import { type SanitizedUser, USER_COLLECTION, type UserDoc } from "../../src/domain/user";
import { runStaleCheck, waitConverged } from "../../test/support/stale-checker";
import { seedBenchUser, startEnv } from "../lib/env";
import { type Section, type SectionResult, table } from "../lib/report";
import { fmt } from "../lib/stats";

/**
 * Figure 6: the Jepsen-style stale-read check (test/support/stale-checker.ts) over mixed reads,
 * write-throughs and invalidations, with redis-server SIGKILLed and restarted twice during the
 * load. Convergence: time from each restart until every user's cached entry is absent or at
 * least the version MongoDB had just before the check looked (the load keeps writing meanwhile).
 */
export const soakSection: Section = async (ctx): Promise<SectionResult> => {
  const env = await startEnv({ env: { BREAKER_COOLDOWN_MS: 500 } });
  try {
    const { stack, redis } = env;
    const svc = stack.ctx.use("cacheSync");
    const engine = stack.ctx.use("cacheEngine");
    const users: SanitizedUser[] = [];
    for (let i = 0; i < 20; i++) users.push(await seedBenchUser(stack));
    for (const u of users) await svc.getUserWithSync(u.id);
    const ids = users.map((u) => u.id);
    const raw = stack.ctx.db.collection<UserDoc>(USER_COLLECTION);

    /** strict: cached == MongoDB (used once the load stopped); otherwise cached ≥ what MongoDB had first. */
    const converged = (strict: boolean) => async () => {
      for (const id of ids) {
        const doc = await raw.findOne({ _id: new ObjectId(id) });
        const cached = await stack.stores.cache.get(engine.userKey(id));
        if (cached === null) continue;
        const v = (JSON.parse(cached) as { version: number }).version;
        if (strict ? v !== doc?.version : v < (doc?.version ?? 0)) return false;
      }
      return true;
    };

    const durationMs = ctx.quick ? 20_000 : 60_000;
    const downMs = ctx.quick ? 1500 : 3000;
    const convergence: number[] = [];
    const faultLog: string[] = [];
    const t0 = performance.now();
    const fault = async () => {
      for (const at of [0.2, 0.6]) {
        const wait = durationMs * at - (performance.now() - t0);
        if (wait > 0) await Bun.sleep(wait);
        await redis.kill();
        faultLog.push(`killed at ${((performance.now() - t0) / 1000).toFixed(1)} s`);
        await Bun.sleep(downMs);
        await redis.restart();
        const restarted = performance.now();
        faultLog.push(`restarted at ${((restarted - t0) / 1000).toFixed(1)} s`);
        try {
          await waitConverged(converged(false), 20_000);
          convergence.push(performance.now() - restarted);
        } catch {
          convergence.push(Number.POSITIVE_INFINITY);
        }
      }
    };
    ctx.log(
      `soak: ${durationMs / 1000} s, 20 users, 4 writers, 8 readers, Redis killed twice for ${downMs} ms`,
    );
    const res = await runStaleCheck({
      service: svc,
      userIds: ids,
      durationMs,
      writers: 4,
      readers: 8,
      invalidateRate: 0.05,
      fault,
    });
    let finalMs = Number.NaN;
    try {
      finalMs = await waitConverged(converged(true), 20_000);
    } catch {
      finalMs = Number.POSITIVE_INFINITY;
    }
    const maxConv = Math.max(...convergence);
    ctx.log(
      `soak: ${res.reads} reads, ${res.stale} stale, ${res.writes} writes, ${res.errors} errors, convergence ${convergence.map((c) => fmt.ms(c)).join(", ")} ms`,
    );
    const body = [
      `runStaleCheck for ${durationMs / 1000} s${ctx.quick ? " (quick mode; 60 s in the full run)" : ""}: 20 users, 4 writers (updateUserWithSync $set bio), 8 readers (getUserWithSync), 5 % of reader iterations invalidate (invalidateUserCache). ` +
        `redis-server SIGKILLed at 20 % and 60 % of the run and restarted on the same port (empty, like a crash) after ${downMs} ms; BREAKER_COOLDOWN_MS=500. MongoDB: the wire-protocol test server. Fault timeline: ${faultLog.join(", ")}.`,
      "",
      table(
        [
          "reads",
          "stale reads",
          "writes",
          "invalidations",
          "errors (failed calls)",
          "convergence after each restart ms",
          "max convergence ms",
          "final strict convergence after the load ms",
        ],
        [
          [
            fmt.int(res.reads),
            fmt.int(res.stale),
            fmt.int(res.writes),
            fmt.int(res.invalidations),
            fmt.int(res.errors),
            convergence.map((c) => fmt.ms(c)).join(", "),
            fmt.ms(maxConv),
            fmt.ms(finalMs),
          ],
        ],
      ),
      res.samples.length ? `\nStale samples: \`${JSON.stringify(res.samples).slice(0, 800)}\`` : "",
    ].join("\n");
    return {
      id: "soak",
      title: "6. Consistency soak",
      body,
      targets: [
        {
          name: "zero stale reads in the soak (Redis killed twice)",
          value: `${res.stale} / ${fmt.int(res.reads)}`,
          target: "0",
          met: res.stale === 0,
        },
      ],
    };
  } finally {
    await env.close();
  }
};
