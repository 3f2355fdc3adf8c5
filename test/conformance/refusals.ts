import type { Backend } from "./backends";
import { E, expectServerError, type ServerErrorSpec } from "./server-error";

/**
 * The embedded engine's refusal list: MongoDB features it does not implement and refuses with
 * the error given here, rather than ignoring them or answering differently. The conformance
 * tests of these features run in full against a real mongod; against the embedded engine they
 * must fail with exactly this error (a silent success fails them). docs/EMBEDDED-MONGO.md
 * lists the same entries.
 */
export const REFUSED = {
  /** Collations other than binary, beyond strength 1–3 equality (see docs). */
  collationOptions: E.NotImplemented,
  /** `create` with `viewOn`/`pipeline`. */
  views: E.NotImplemented,
  /** `create` with `validator` (schema validation). */
  validators: E.NotImplemented,
  /** `collMod` (views, validators, TTL changes). */
  collMod: E.NotImplemented,
  /** Indexes with `expireAfterSeconds` (documents would never expire). */
  ttlIndexes: E.NotImplemented,
  /** Indexes with `partialFilterExpression` (uniqueness would be enforced on every document). */
  partialIndexes: E.NotImplemented,
  /** `text`, `2d`, `2dsphere` indexes (and so `$text`/`$near`). */
  specialIndexes: E.NotImplemented,
  /** `find` with `min`, `max`, `returnKey`, `showRecordId`, `tailable`. */
  indexBoundFind: E.NotImplemented,
  /** `$out`/`$merge` into another database. */
  crossDatabaseOutput: E.NotImplemented,
} as const satisfies Record<string, ServerErrorSpec>;

export type RefusedFeature = keyof typeof REFUSED;

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
  await expectServerError(run, REFUSED[feature]);
}
