import { HONOURED_LOCALES } from "../../src/adapters/memory/engine/collation";
import type { Backend } from "./backends";
import { E, expectServerError, type ServerErrorSpec } from "./server-error";

/**
 * The embedded engine's refusal list: MongoDB features it does not implement and refuses with
 * the error given here, rather than ignoring them or answering differently. The conformance
 * tests of these features run in full against a real mongod; against the embedded engine they
 * must fail with exactly this error (a silent success fails them). docs/EMBEDDED-MONGO.md's table
 * is `refusalTable()` (refusals.test.ts compares them, and checks every entry has a test).
 */
export const REFUSED = {
  views: { error: E.NotImplemented, what: "Views (`create` with `viewOn`/`pipeline`)" },
  validators: { error: E.NotImplemented, what: "Schema validation (`create` with `validator`)" },
  specialCollections: {
    error: E.NotImplemented,
    what: "Capped, time-series and clustered collections",
  },
  collMod: { error: E.NotImplemented, what: "`collMod`" },
  ttlIndexes: {
    error: E.NotImplemented,
    what: "TTL indexes (`expireAfterSeconds`: documents would never expire)",
  },
  partialIndexes: {
    error: E.NotImplemented,
    what: "Partial indexes (`partialFilterExpression`: uniqueness would hold for every document)",
  },
  hiddenIndexes: { error: E.NotImplemented, what: "Hidden indexes (`hidden: true`)" },
  wildcardIndexes: { error: E.NotImplemented, what: 'Wildcard indexes (`{ "$**": 1 }`, `a.$**`)' },
  indexCollations: { error: E.NotImplemented, what: "Index collations (`collation` on an index)" },
  specialIndexes: { error: E.NotImplemented, what: "`text`, `2d` and `2dsphere` indexes" },
  textAndGeoQueries: {
    error: E.NotImplemented,
    what: "`$text` (and `$meta` sorts), `$near`, `$nearSphere`, `$geoWithin`, `$geoIntersects`",
  },
  indexBoundFind: {
    error: E.NotImplemented,
    what: "`find` with `min`, `max`, `returnKey`, `showRecordId`",
  },
  tailableCursors: {
    error: E.NotImplemented,
    what: "`find` with `tailable`, `awaitData`, `oplogReplay` (change streams work)",
  },
  collationOptions: {
    error: E.NotImplemented,
    what: "Collation options other than `locale` and `strength` 1–3 (`numericOrdering`, `caseFirst`, `caseLevel`, `alternate`, `backwards`, strength 4–5)",
  },
  collationLocales: {
    error: E.NotImplemented,
    what: `Collation locales with a tailoring (all but ${HONOURED_LOCALES.join(", ")}), and in a collated filter strings beyond printable ASCII and accented Latin letters (\`ß\`, \`æ\`, \`ø\`, ligatures, other scripts)`,
  },
  collatedOperations: {
    error: E.NotImplemented,
    what: "Under a collation: string ranges (`$gt`… on strings), regular expressions, `$expr`; `$addToSet`/`$pull`/`$pullAll`/`$min`/`$max`, arrayFilters and `$` in updates; aggregation stages after the leading `$match` other than `$sort`/`$skip`/`$limit`/`$count`/`$sample`/`$unset`, inclusion `$project`, `$group` on a constant counting with `$sum`",
  },
  crossDatabaseOutput: {
    error: E.NotImplemented,
    what: "`$out`/`$merge` into another database or a time-series collection",
  },
  serverStages: {
    error: E.NotImplemented,
    what: "Server stages mingo lacks (`$collStats`, `$currentOp`, `$indexStats`, `$search`, `$geoNear`, …)",
  },
  transactions: {
    error: { code: 20, codeName: "IllegalOperation" },
    what: "Transactions (`startTransaction`), as a standalone mongod",
  },
  scripts: {
    error: E.BadValue,
    what: "`$where`, `$function`, `$accumulator` (server-side JavaScript)",
  },
} as const satisfies Record<string, { error: ServerErrorSpec; what: string }>;

export type RefusedFeature = keyof typeof REFUSED;

/** The refusal list as the Markdown table docs/EMBEDDED-MONGO.md shows. */
export function refusalTable(): string {
  const rows = Object.values(REFUSED).map(
    ({ error, what }) => `| ${what} | ${error.codeName} (${error.code}) |`,
  );
  return ["| Feature | Error |", "| --- | --- |", ...rows].join("\n");
}

/**
 * Runs a test of a feature on the refusal list: in full against mongod, and against the embedded
 * engine expecting the documented refusal from its first call.
 */
export async function featureOrRefusal(
  b: Backend,
  feature: RefusedFeature,
  run: () => Promise<unknown>,
): Promise<void> {
  if (!b.embedded) {
    await run();
    return;
  }
  await expectServerError(run, REFUSED[feature].error);
}
