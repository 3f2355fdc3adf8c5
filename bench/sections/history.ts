import {
  checkHistory,
  describeHistory,
  type HistoryReport,
} from "../../test/support/history-checker";
import { historyNemesis, runHistory } from "../../test/support/history-run";
import { startJitteredDeployment } from "../../test/support/jittered-deployment";
import { ADMIN_EMAIL, ADMIN_ENV, ADMIN_PASSWORD } from "../../test/support/users";
import { type Section, type SectionResult, table } from "../lib/report";

/**
 * The long Jepsen-style run (docs/CONSISTENCY.md "History checker"): two instances behind
 * jittering proxies, every fault of the fault proxy on every link in turn (stalls, one-way
 * partitions of requests and of replies, towards Redis and MongoDB), clients reading, writing,
 * paying and following SSE with reconnects; the whole history checked afterwards.
 */
export const historySection: Section = async (ctx): Promise<SectionResult> => {
  const d = await startJitteredDeployment({
    env: {
      ...ADMIN_ENV,
      ADMIN_INITIAL_BALANCE: 1_000_000_000,
      SSE_HEARTBEAT_MS: 200,
      CACHE_MARKER_TTL_MS: 5000,
      OBSERVATORY_SAMPLE_RATE: 0,
      LOG_LEVEL: "silent",
    },
  });
  try {
    const durationMs = Math.round(60_000 * ctx.scale);
    const h = await runHistory({
      deployment: d,
      admin: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
      durationMs,
      writers: 3,
      tokenReads: true,
      nemesis: historyNemesis(d, { everyMs: 400, faultMs: 200 }),
    });
    const at = (staleBoundMs: number) =>
      checkHistory(h.ops, { feed: h.feed, subscribedAfter: h.subscribedAfter, staleBoundMs });
    const strict = at(0);
    const bounded = at(2000);
    ctx.log(`history, bound 0: ${describeHistory(strict).split("\n")[0]}`);
    ctx.log(`history, bound 2 s: ${describeHistory(bounded).split("\n")[0]}`);
    const cell = (r: HistoryReport, k: string) => String(r.byInvariant[k as never] ?? 0);
    const invariants = [
      "stale-read",
      "token-read",
      "version-order",
      "event-order",
      "event-lost",
      "ledger",
    ];
    const count = (k: string) => String(strict.counts[k] ?? 0);
    const tokenReads = h.ops.filter((o) => o.kind === "read" && o.outcome === "ok" && o.minVersion);
    const body = [
      `${(h.ms / 1000).toFixed(0)} s, 2 instances, 3 users (one hot), 3 writers, a reader per instance every 3 ms (every other read carrying the last acknowledged version as \`X-Min-Version\`), a payer (deposit + admin approval), an SSE subscriber per user reconnecting every 400 ms with \`Last-Event-ID\`. Nemesis: every 400 ms a 200 ms fault on one link of one instance, in turn: stall (both ways), partition of requests, partition of replies; towards MongoDB and towards Redis.`,
      "",
      `Operations: ${count("read:ok")} reads (${tokenReads.length} with a token), ${count("write:ok")} writes acknowledged (${count("write:info")} indeterminate), ${count("money:ok")} credits acknowledged (${count("money:info")} indeterminate), ${count("event:ok")} SSE events received; ${h.feed.length} feed entries.`,
      "",
      table(
        [
          "invariant",
          "violations, bound 0",
          "violations, bound 2 s (stated for one-way partitions)",
        ],
        invariants.map((k) => [k, cell(strict, k), cell(bounded, k)]),
      ),
      "",
      `Stale reads were at most ${strict.maxStaleMs.toFixed(0)} ms late. \`event-order\` is the SSE replay limit (docs/CONSISTENCY.md): counted, not a loss.`,
    ].join("\n");
    const hard = (r: HistoryReport) =>
      (r.byInvariant["token-read"] ?? 0) +
      (r.byInvariant["version-order"] ?? 0) +
      (r.byInvariant["event-lost"] ?? 0) +
      (r.byInvariant.ledger ?? 0) +
      (r.byInvariant["stale-read"] ?? 0);
    return {
      id: "history",
      title: "History checker over the fault proxy (long run)",
      body,
      targets: [
        {
          name: "Fault-proxy run: violated invariants (stale reads within the stated bound)",
          value: String(hard(bounded)),
          target: "0",
          met: hard(bounded) === 0,
        },
        {
          name: "Fault-proxy run: token-carrying reads older than their token",
          value: cell(strict, "token-read"),
          target: "0",
          met: (strict.byInvariant["token-read"] ?? 0) === 0,
        },
      ],
    };
  } finally {
    await d.close();
  }
};
