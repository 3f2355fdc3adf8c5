import { ObjectId } from "bson";
import type { Doc } from "../../src/core/ports/document-store";
import { startEnv } from "../lib/env";
import { type Section, type SectionResult, table } from "../lib/report";
import { fmt, median, minMax } from "../lib/stats";

const CONCURRENCY = 64;
const LISTINGS = 10;

/**
 * View counters two ways, side by side on the same servers in each run: through write-behind
 * (`writeBehind.change`: XADD + overlay, flushed in coalesced bulkWrites, the final flush inside
 * the timed window) and as one direct `$inc` per view on MongoDB (the official driver on the
 * wire-protocol test server). Views spread over 10 listings, 64 concurrent callers. The write
 * count is the MongoDB write commands each way sent.
 */
export const writeBehindSection: Section = async (ctx): Promise<SectionResult> => {
  const env = await startEnv({
    env: { WRITE_BEHIND_FLUSH_MS: 200, WRITE_BEHIND_BATCH_SIZE: 1000 },
  });
  try {
    const { stack } = env;
    const total = Math.max(2000, Math.round(20_000 * ctx.scale));
    const listings = stack.ctx.stores.db.collection<Doc>("listings");
    const rows: { wb: number; direct: number; wbWrites: number; ratio: number }[] = [];
    for (let run = 0; run < ctx.runs; run++) {
      const ids: string[] = [];
      for (let i = 0; i < LISTINGS; i++)
        ids.push(
          (await listings.insertOne({ title: `bench ${i}`, viewCount: 0 }))._id.toHexString(),
        );
      const metric = stack.ctx.metrics.registry.getSingleMetric(
        "cachesync_write_behind_mongo_writes_total",
      );
      const writesNow = async () =>
        ((await metric?.get())?.values ?? []).reduce((n, v) => n + v.value, 0);
      const wb = stack.ctx.use("writeBehind");

      const loop = async (op: (id: string) => Promise<unknown>) => {
        let next = 0;
        const started = performance.now();
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            while (next < total) {
              const n = next++;
              await op(ids[n % LISTINGS] as string);
            }
          }),
        );
        return started;
      };

      const before = await writesNow();
      const startedWb = await loop((id) => wb.change("listings", id, { add: { viewCount: 1 } }));
      while ((await wb.report()).depth > 0) await wb.flush();
      const wbSeconds = (performance.now() - startedWb) / 1000;
      const wbWrites = (await writesNow()) - before;

      const startedDirect = await loop((id) =>
        listings.updateOne({ _id: new ObjectId(id) }, { $inc: { directCount: 1 } }),
      );
      const directSeconds = (performance.now() - startedDirect) / 1000;

      const stored = await listings.find({ _id: { $in: ids.map((id) => new ObjectId(id)) } });
      const sum = (f: string) => stored.reduce((n, d) => n + Number(d[f] ?? 0), 0);
      if (sum("viewCount") !== total || sum("directCount") !== total)
        throw new Error(
          `lost or doubled increments: write-behind ${sum("viewCount")}, direct ${sum("directCount")}, expected ${total}`,
        );
      const wbRate = total / wbSeconds;
      const directRate = total / directSeconds;
      rows.push({ wb: wbRate, direct: directRate, wbWrites, ratio: wbRate / directRate });
      ctx.log(
        `run ${run + 1}: write-behind ${fmt.int(wbRate)}/s (${wbWrites} writes), direct $inc ${fmt.int(directRate)}/s`,
      );
    }
    const ratios = rows.map((r) => r.ratio);
    const [lo, hi] = minMax(ratios);
    const writes = median(rows.map((r) => r.wbWrites));
    const reduction = total / Math.max(1, writes);
    const body = [
      `${fmt.int(total)} increments per run over ${LISTINGS} listings, ${CONCURRENCY} concurrent callers, in process (no HTTP); each way checked exact in MongoDB after the run.`,
      "",
      table(
        ["way", "increments/s", "MongoDB writes", "writes per increment"],
        [
          [
            "write-behind (queue + overlay, flushed in bulkWrites; final flush timed)",
            fmt.int(median(rows.map((r) => r.wb))),
            fmt.int(writes),
            (writes / total).toFixed(4),
          ],
          [
            "direct `$inc` per increment",
            fmt.int(median(rows.map((r) => r.direct))),
            fmt.int(total),
            "1",
          ],
        ],
      ),
      "",
      `Throughput ratio (write-behind / direct, within each run): median ${fmt.ratio(median(ratios))} (${fmt.ratio(lo)}–${fmt.ratio(hi)}); MongoDB write reduction ${fmt.int(reduction)}×.`,
    ].join("\n");
    return {
      id: "write-behind",
      title: "Write-behind view counters",
      body,
      targets: [
        {
          name: "write-behind MongoDB write reduction",
          value: `${fmt.int(reduction)}×`,
          target: "≥ 100×",
          met: reduction >= 100,
        },
      ],
    };
  } finally {
    await env.close();
  }
};
