import { describe, expect, test } from "bun:test";
import {
  foldable,
  HONOURED_LOCALES,
  parseCollation,
} from "../../src/adapters/memory/engine/collation";
import { E, expectServerError } from "./server-error";

/**
 * The embedded engine decides collated equality by folding strings; this checks the fold against
 * ICU itself (Intl.Collator, the library mongod uses) on the whole repertoire the engine accepts:
 * every foldable character of the Latin blocks, and every two-letter ASCII sequence (expansions
 * such as "ß" = "ss" or "æ" = "ae" would show there). Two strings must be equal under the fold
 * exactly when ICU says they are equal.
 */
const letters = "abcdefghijklmnopqrstuvwxyz";
const repertoire = (() => {
  const out: string[] = [];
  for (const [from, to] of [
    [0x20, 0x7e],
    [0xa0, 0x24f],
    [0x1e00, 0x1eff],
    [0x212b, 0x212b],
  ] as const)
    for (let c = from; c <= to; c++) {
      const ch = String.fromCharCode(c);
      if (foldable(ch)) out.push(ch);
    }
  for (const a of letters)
    for (const b of letters) out.push(a + b, a.toUpperCase() + b, `${a}${b.toUpperCase()}`);
  return out;
})();

describe("collation folding is ICU's equality on what the engine accepts", () => {
  for (const locale of HONOURED_LOCALES)
    for (const strength of [1, 2, 3] as const)
      test(`${locale}, strength ${strength}`, () => {
        const fold = parseCollation({ locale, strength })?.fold as (s: string) => string;
        const icu = new Intl.Collator(locale, {
          sensitivity: strength === 1 ? "base" : strength === 2 ? "accent" : "variant",
        });
        const wrong: string[] = [];
        // Equal folds ⇒ equal under ICU (its equality is transitive: one representative each).
        const classes = new Map<string, string>();
        for (const s of repertoire) {
          const first = classes.get(fold(s));
          if (first === undefined) classes.set(fold(s), s);
          else if (icu.compare(first, s) !== 0) wrong.push(`${first} ≠ ${s} for ICU`);
        }
        // Equal under ICU ⇒ equal folds: ICU's equal strings are neighbours once sorted by it.
        const sorted = [...repertoire].sort(icu.compare);
        for (let i = 1; i < sorted.length; i++) {
          const [a, b] = [sorted[i - 1] as string, sorted[i] as string];
          if (icu.compare(a, b) === 0 && fold(a) !== fold(b)) wrong.push(`${a} = ${b} for ICU`);
        }
        expect(wrong).toEqual([]);
      });
});

describe("what the fold cannot reproduce is refused, not compared differently", () => {
  test("a tailored locale (sv: å is a letter of its own; da: aa = å) → NotImplemented (238)", async () => {
    for (const locale of ["sv", "da", "es", "tr", "de@collation=phonebook"])
      await expectServerError(
        Promise.resolve().then(() => parseCollation({ locale, strength: 1 })),
        E.NotImplemented,
      );
  });

  test("a string outside the repertoire (ß = ss, ø, ligatures, other scripts) → NotImplemented (238)", async () => {
    const fold = parseCollation({ locale: "de", strength: 1 })?.fold as (s: string) => string;
    for (const s of ["straße", "øre", "ﬁle", "Ωmega", "x²"])
      await expectServerError(
        Promise.resolve().then(() => fold(s)),
        E.NotImplemented,
      );
    expect(fold("Éte")).toBe(fold("ete"));
  });
});
