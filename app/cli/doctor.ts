import { formatReport } from "../../plugins/operations/adoption/doctor/format";
import { runDoctor } from "../../plugins/operations/adoption/doctor/scan";
import { openForCli } from "./open-database";

/**
 * `bun run doctor [--json]`: read-only report of what in MONGO_URL/MONGO_DB does not fit the
 * invariants. Exit code 0 when nothing blocks correct operation, 2 when something does.
 */
const json = process.argv.includes("--json");
const { config, stores } = await openForCli("doctor");
try {
  const report = await runDoctor(stores.db, { sensitive: config.SENSITIVE_FIELDS });
  console.log(json ? JSON.stringify(report, null, 2) : formatReport(report));
  process.exitCode = report.ok ? 0 : 2;
} finally {
  await Promise.allSettled([stores.db.close(), stores.cache.close(), stores.bus.close()]);
}
