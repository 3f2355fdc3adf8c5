import { parseArgs } from "node:util";
import { runMigration } from "../../plugins/operations/adoption/migrate/run";
import { createApp } from "../../src/core/app";
import { syncLayerPlugins } from "../plugins";
import { openForCli } from "./open-database";

/**
 * `bun run migrate [--dry-run] [--currency-scale N] [--batch-size N] [--pause-ms N] [--restart]
 * [--json] [--no-cache]`: brings MONGO_URL/MONGO_DB to the invariants (see the README, "Adopting
 * cachesync on an existing database"). Writes go through the sync layer's own hooks — versions
 * bumped, the deployment's Redis written through, `userDataUpdated` published — so it is safe
 * while the API serves; hence it refuses to run without a Redis unless told there is none.
 */
const usage =
  "usage: bun run migrate [--dry-run] [--currency-scale 100] [--batch-size 500] [--pause-ms 0] [--restart] [--json] [--no-cache]";
let args: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: {
      "dry-run": { type: "boolean" },
      "currency-scale": { type: "string" },
      "batch-size": { type: "string" },
      "pause-ms": { type: "string" },
      restart: { type: "boolean" },
      json: { type: "boolean" },
      "no-cache": { type: "boolean" },
    },
  }).values;
}
try {
  args = parse();
} catch (err) {
  console.error(`${(err as Error).message}\n${usage}`);
  process.exit(1);
}
const number = (name: string, value: string | undefined, ok: (n: number) => boolean) => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || !ok(n)) {
    console.error(`--${name}: invalid value ${JSON.stringify(value)}\n${usage}`);
    process.exit(1);
  }
  return n;
};
const currencyScale = number("currency-scale", args["currency-scale"], (n) =>
  [1, 10, 100, 1000, 10_000].includes(n),
);
const batchSize = number("batch-size", args["batch-size"], (n) => n >= 1 && n <= 10_000);
const pauseMs = number("pause-ms", args["pause-ms"], (n) => n >= 0 && n <= 60_000);

const { config, stores, logger } = await openForCli("migrate", {
  writesCache: true,
  noCache: args["no-cache"] ?? false,
});
const instance = await createApp({
  config,
  stores,
  logger,
  plugins: syncLayerPlugins(),
});
try {
  await instance.ready();
  const report = await runMigration(instance.ctx, {
    dryRun: args["dry-run"] ?? false,
    restart: args.restart ?? false,
    currencyScale,
    batchSize,
    pauseMs,
    progress: (line) => console.log(line),
  });
  if (args.json) console.log(JSON.stringify(report, null, 2));
  else {
    console.log(`${report.dryRun ? "would change" : "changed"}: ${JSON.stringify(report.changed)}`);
    for (const r of report.refused) console.log(`refused ${r.check} ${r.id}: ${r.detail}`);
    console.log(
      report.refused.length
        ? `${report.refused.length} left for a decision (see \`bun run doctor\`)`
        : "done: nothing left for a decision",
    );
  }
} finally {
  await instance.close();
}
