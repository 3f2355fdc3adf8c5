import { ObjectId } from "bson";
import type { SanitizedUser } from "../../plugins/features/users";
import { rawMongo, seedBenchUser, startEnv } from "../lib/env";
import { type Section, type SectionResult, table } from "../lib/report";
import { closedLoop, fmt, type LoadResult, median, minMax } from "../lib/stats";

/**
 * Figure 4: updateBalanceWithSync (ledger intent, guarded $inc, ledger applied, pendingOps pull,
 * write-through to Redis, userDataUpdated published) against a bare findOneAndUpdate($inc) with
 * the official driver on the same MongoDB, 1 and 16 in flight (one user per worker). The
 * write-through of a plain $inc (updateUserWithSync, no ledger) is shown in between.
 */
export const writeSection: Section = async (ctx): Promise<SectionResult> => {
  const env = await startEnv();
  try {
    const { stack } = env;
    if (!stack.ctx.has("balance"))
      throw new Error("the wallet plugin (ctx.use('balance')) is not loaded yet");
    const svc = stack.ctx.use("cacheSync");
    const users: SanitizedUser[] = [];
    for (let i = 0; i < 16; i++)
      users.push(await seedBenchUser(stack, { wallet: { balance: 1_000_000, currency: "USD" } }));
    for (const u of users) await svc.getUserWithSync(u.id);
    const client = await rawMongo(env.mongo.url);
    const coll = client.db(stack.dbName).collection("users");
    const ids = users.map((u) => new ObjectId(u.id));

    let seq = 0;
    const ops: Record<string, (w: number) => Promise<unknown>> = {
      bare: (w) =>
        coll.findOneAndUpdate(
          { _id: ids[w] },
          { $inc: { "wallet.balance": 1 } },
          { returnDocument: "after" },
        ),
      ours: (w) => svc.updateBalanceWithSync(users[w]!.id, 1, "bench credit"),
      oursOpId: (w) =>
        svc.updateBalanceWithSync(users[w]!.id, 1, "bench credit", {
          opId: `bench:${process.pid}:${seq++}`,
        }),
      writeThrough: (w) => svc.updateUserWithSync(users[w]!.id, { $inc: { "wallet.balance": 1 } }),
    };
    // Correctness first: a balance update must return the new balance.
    const before = (await svc.getUserWithSync(users[0]!.id))!.wallet.balance;
    const res = (await ops.ours!(0)) as { balanceAfter: number };
    if (res.balanceAfter !== before + 1)
      throw new Error(`updateBalanceWithSync returned ${res.balanceAfter}, expected ${before + 1}`);

    const d = Math.round(2000 * ctx.scale);
    const warm = Math.round(300 * ctx.scale);
    type Run = Record<string, LoadResult>;
    const runs: Run[] = [];
    for (let r = 0; r < ctx.runs; r++) {
      const run: Run = {};
      const names = Object.keys(ops);
      if (r % 2) names.reverse();
      for (const c of [1, 16])
        for (const n of names)
          run[`${n}${c}`] = await closedLoop(ops[n]!, {
            concurrency: c,
            durationMs: d,
            warmupMs: warm,
          });
      runs.push(run);
      ctx.log(
        `write run ${r + 1}: 16 in flight ours ${fmt.int(run.ours16!.opsPerSec)}/s vs bare ${fmt.int(run.bare16!.opsPerSec)}/s`,
      );
    }
    const errors = runs.reduce((s, r) => s + Object.values(r).reduce((t, l) => t + l.errors, 0), 0);
    await client.close();

    const med = (name: string, f: keyof LoadResult) => median(runs.map((r) => r[name]![f]));
    const ratio = (n: string, c: number) =>
      runs.map((r) => r[`${n}${c}`]!.opsPerSec / r[`bare${c}`]!.opsPerSec);
    const cell = (xs: number[]) =>
      `${fmt.ratio(median(xs))} (${minMax(xs)
        .map((v) => v.toFixed(2))
        .join("–")})`;
    const labels: Record<string, string> = {
      bare: "bare findOneAndUpdate($inc), official driver",
      writeThrough: "updateUserWithSync({ $inc }) (write-through, no ledger)",
      ours: "updateBalanceWithSync (ledgered, exactly-once; fresh op: 1 round trip)",
      oursOpId: "updateBalanceWithSync with a caller opId (+ the intent row: 2 round trips)",
    };
    const rows: string[][] = [];
    for (const c of [1, 16]) {
      rows.push([`**${c === 1 ? "1 in flight (sequential)" : "16 in flight"}**`, "", "", "", ""]);
      for (const n of ["bare", "writeThrough", "ours", "oursOpId"]) {
        rows.push([
          labels[n]!,
          fmt.int(med(`${n}${c}`, "opsPerSec")),
          fmt.us(med(`${n}${c}`, "p50Us")),
          fmt.us(med(`${n}${c}`, "p99Us")),
          n === "bare" ? "" : cell(ratio(n, c)),
        ]);
      }
    }
    const r16 = median(ratio("ours", 16));
    const r1 = median(ratio("ours", 1));
    return {
      id: "write",
      title: "4. Write path",
      body: [
        `MongoDB: the wire-protocol test server (not mongod), in its own process. An updateBalanceWithSync is one conditional findOneAndUpdate of the user document on the request path (guard, funds, \`$inc\`, the pending ledger entry in its outbox; docs/IDENTITY-AND-MONEY.md) plus the Redis write-through and the event publish; the ledger row and the guard cleanup are written by the background drain (off the request path but on the same CPU, so they count in ops/s): two bulk writes per batch of the ops that landed meanwhile, across users (an insert of the rows, a pull of the guards; a third, an upsert, for rows the unique opId refused). With a caller-supplied opId (a possible retry), its intent row is inserted first: one more round trip. The write-through, the email index SET and the event go out in one socket write and one Redis round trip (standalone and Sentinel: the event's script checks the entry holds its version). One user per worker. Errors over all runs: ${errors}.`,
        "",
        table(["operation", "ops/s", "p50 µs", "p99 µs", "ratio vs bare (ops/s; min–max)"], rows),
      ].join("\n"),
      targets: [
        {
          name: "balance update ≥ 0.7× bare $inc (16 in flight)",
          value: fmt.ratio(r16),
          target: "≥ 0.70×",
          met: r16 >= 0.7,
          left: "the single-threaded MongoDB test server: at 16 in flight it runs at ≈ 0.9 of a core on both sides, so the ratio is its CPU per bare $inc over its CPU per balance update (/proc counters, 2026-11-27: ≈ 190 µs against ≈ 420–530; app ≈ 125–180 against 380–500, Redis 0 against ≈ 45 — app-side savings do not move this figure). Its work per balance update, by profile: the guarded findAndModify ≈ 43 %, the drain's ledger rows and guard pulls ≈ 28 % (rows now one unordered insert per batch instead of an upsert each: 570–635 → 420–530 µs side by side), mingo's per-update setup (operator-table copies, ≈ 20 %) in each of the ≈ 2 engine updates per op against the bare $inc's one, the before/after document comparison (≈ 12 %). Side by side with the previous main (2 × 3 runs each, alternating, load 1.8–2.3): 0.42× and 0.45× against 0.35× and 0.36×",
        },
        {
          name: "balance update ≥ 0.7× bare $inc (sequential)",
          value: fmt.ratio(r1),
          target: "≥ 0.70×",
          met: r1 >= 0.7,
          left: "latency: the guarded update's acknowledgement — the test server spends ≈ 630–800 µs of CPU per op at 1 in flight against the bare $inc's ≈ 230 (the heavier update, and the drain's bulk writes queued ahead of it on the same single-threaded server) — then the write-through, its email index SET and its event, now one socket write and one Redis round trip on the cache's connection (after-write phases p50 ≈ 175 µs in-process against ≈ 200–290 µs as two round trips on two connections). Side by side with the previous main (2 × 3 runs, alternating): 0.32× and 0.37× against 0.33× and 0.34× — within this machine's noise; updateUserWithSync alone is ≈ 0.5×, so the ledger's server work is most of what is left",
        },
      ],
    };
  } finally {
    await env.close();
  }
};
