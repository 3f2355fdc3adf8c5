/**
 * Collation, the part the engine can honour exactly: string equality at strength 1 (base
 * letters), 2 (plus accents) or 3 (plus case), and sorting by the locale's order (Intl.Collator,
 * ICU like mongod's). Everything that would need ICU's full comparison inside the query engine —
 * string ranges, regular expressions, `$expr`, collation-aware update operators, options such as
 * numericOrdering — is refused with NotImplemented rather than compared byte-wise.
 *
 * Equality works by folding: documents and filter are compared with every string mapped to a
 * key that is equal exactly when the collation says the strings are equal. That holds only where
 * the fold is ICU's equality, so the engine honours collation for:
 * - locales whose CLDR collation is the root collation (`HONOURED_LOCALES`, any region): a
 *   tailored locale (sv: "å" is its own letter; da: "aa" = "å"; es: "ñ"; tr: dotless i …) is
 *   refused;
 * - strings of `foldable` characters — printable ASCII and the Latin letters whose canonical
 *   decomposition is an ASCII letter with accents. Other characters ("ß" = "ss", "æ", "ø", "ł",
 *   ligatures, superscripts, other scripts) have ICU equalities the fold does not reproduce, so a
 *   collated filter meeting one, in the filter or in a filtered field of a document, is refused.
 * test/adapters/collation-fold.test.ts checks the fold against Intl.Collator (ICU) on exactly
 * that repertoire, pairwise and against every two-letter sequence.
 */
import type { Document } from "bson";
import type { CollationSpec } from "mingo/types";
import { isPlainObject } from "./clone";
import { badValue, EngineError } from "./errors";

export interface Collation {
  /** The key two strings share exactly when they are equal under the collation. */
  fold(value: string): string;
  /** For mingo's `$sort`. */
  sortSpec: CollationSpec;
}

/** Options that keep their default meaning; any other value is refused. */
const DEFAULTS: Record<string, unknown> = {
  caseLevel: false,
  caseFirst: "off",
  alternate: "non-ignorable",
  backwards: false,
  numericOrdering: false,
  normalization: false,
};

export function notSupported(what: string): EngineError {
  return new EngineError(238, "NotImplemented", `${what} is not supported by the embedded engine`);
}

/** The collation of an operation, or undefined for binary comparison (none, or `simple`). */
export function parseCollation(spec: unknown): Collation | undefined {
  if (spec === undefined || spec === null) return undefined;
  if (!isPlainObject(spec))
    throw new EngineError(14, "TypeMismatch", "collation must be an object");
  const { locale, strength = 3, maxVariable: _maxVariable, ...rest } = spec;
  if (typeof locale !== "string") throw badValue('Missing expected field "locale"');
  if (locale === "simple") {
    if (Object.keys(spec).length > 1)
      throw badValue("If locale=simple, then no other collation fields may be specified");
    return undefined;
  }
  if (strength !== 1 && strength !== 2 && strength !== 3)
    throw notSupported(`collation strength ${String(strength)} (only 1, 2 and 3)`);
  for (const [option, value] of Object.entries(rest)) {
    if (!(option in DEFAULTS)) throw badValue(`unknown collation option ${option}`);
    if (value !== DEFAULTS[option])
      throw notSupported(`collation option ${option}: ${JSON.stringify(value)}`);
  }
  const tag = locale.replace(/_/g, "-");
  const language = tag.split(/[-@]/)[0] as string;
  // A variant (`de@collation=phonebook`, which Intl cannot parse) is a tailoring too.
  const variant = tag.includes("@");
  if (!variant && !Intl.Collator.supportedLocalesOf([tag]).length)
    throw badValue(`Field 'locale' is invalid in: ${JSON.stringify(spec)}`);
  if (variant || !HONOURED_LOCALES.includes(language))
    throw notSupported(
      `collation locale '${locale}' (its tailoring; the locales honoured are ${HONOURED_LOCALES.join(", ")})`,
    );
  const lower = (s: string) => s.toLocaleLowerCase(tag);
  const folds =
    strength === 3
      ? (s: string) => s.normalize("NFC")
      : strength === 2
        ? (s: string) => lower(s.normalize("NFC"))
        : (s: string) => lower(s.normalize("NFD").replace(/\p{M}/gu, ""));
  const fold = (s: string) => {
    if (!foldable(s))
      throw notSupported(
        `collation on ${JSON.stringify(s)} (characters other than printable ASCII and accented Latin letters)`,
      );
    return folds(s);
  };
  return { fold, sortSpec: { locale: tag, strength } };
}

/** Languages whose CLDR collation adds no tailoring to the root collation. */
export const HONOURED_LOCALES = ["en", "fr", "de", "it", "pt", "nl", "id", "ms"];

/**
 * Printable ASCII, and Latin letters whose canonical decomposition is an ASCII letter followed by
 * combining marks (é = e + ´): the repertoire on which the fold is ICU's equality.
 */
export function foldable(s: string): boolean {
  return /^(?:[\x20-\x7e]|[A-Za-z]\p{M}+)*$/u.test(s.normalize("NFD"));
}

/** A copy of `value` with every string folded (keys are field names: left as they are). */
export function foldStrings(value: unknown, fold: (s: string) => string): unknown {
  if (typeof value === "string") return fold(value);
  if (Array.isArray(value)) return value.map((v) => foldStrings(v, fold));
  if (isPlainObject(value)) {
    const out: Document = {};
    for (const [k, v] of Object.entries(value)) out[k] = foldStrings(v, fold);
    return out;
  }
  return value;
}

const RANGE = new Set(["$gt", "$gte", "$lt", "$lte"]);

/** Filters whose meaning under a collation folding cannot reproduce are refused. */
export function refuseUncollatable(filter: unknown): void {
  if (Array.isArray(filter)) {
    for (const part of filter) refuseUncollatable(part);
    return;
  }
  if (filter instanceof RegExp) throw notSupported("a regular expression under a collation");
  if (!isPlainObject(filter)) return;
  for (const [key, value] of Object.entries(filter)) {
    if (key === "$regex") throw notSupported("a regular expression under a collation");
    if (key === "$expr" || key === "$where" || key === "$text" || key === "$function")
      throw notSupported(`${key} under a collation`);
    if (RANGE.has(key) && typeof value === "string")
      throw notSupported(`a string range (${key}) under a collation`);
    refuseUncollatable(value);
  }
}

/** Update operators whose comparisons a collation changes, refused under one. */
export function refuseCollatedUpdate(update: unknown, arrayFilters: unknown): void {
  if (arrayFilters !== undefined) throw notSupported("arrayFilters under a collation");
  if (!isPlainObject(update)) return;
  for (const op of ["$addToSet", "$pull", "$pullAll", "$min", "$max"]) {
    if (op in update) throw notSupported(`${op} under a collation`);
  }
  for (const args of Object.values(update)) {
    if (isPlainObject(args) && Object.keys(args).some((p) => p.split(".").includes("$")))
      throw notSupported("the positional $ operator under a collation");
  }
}
