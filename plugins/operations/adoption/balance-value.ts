import { Decimal128 } from "bson";

/**
 * What a stored `wallet.balance` is. Integers are taken as minor units already (the SPEC's shape;
 * the migration cannot tell 5000 cents from 5000 dollars, so it never rescales them). Anything
 * else that reads as a decimal number — a float, a numeric string, a Decimal128 — is a legacy
 * amount in major units, convertible only with an explicit currency scale.
 */
export type BalanceValue =
  | { kind: "minor"; minor: number }
  | { kind: "major"; decimal: string }
  | { kind: "missing" }
  | { kind: "invalid"; shown: string };

const PLAIN_DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

export function readBalance(value: unknown): BalanceValue {
  if (value === undefined || value === null) return { kind: "missing" };
  if (typeof value === "number") {
    if (Number.isSafeInteger(value)) return { kind: "minor", minor: value };
    return Number.isFinite(value)
      ? { kind: "major", decimal: String(value) }
      : { kind: "invalid", shown: String(value) };
  }
  if (value instanceof Decimal128) return { kind: "major", decimal: value.toString() };
  if (typeof value === "string" && PLAIN_DECIMAL.test(value.trim()))
    return { kind: "major", decimal: value.trim() };
  return { kind: "invalid", shown: JSON.stringify(value)?.slice(0, 40) ?? typeof value };
}

/**
 * `decimal` (major units) × `scale` (a power of ten: 100 for cents) as an integer, or null when
 * that is not exact — "50.255" at scale 100 is refused, never rounded.
 */
export function toMinorUnits(decimal: string, scale: number): number | null {
  const digits = Math.log10(scale);
  if (!Number.isInteger(digits) || digits < 0) return null;
  const m = PLAIN_DECIMAL.exec(decimal);
  if (!m) return null;
  const [, sign, whole, frac = ""] = m;
  if (/[1-9]/.test(frac.slice(digits))) return null;
  const minor = BigInt(`${whole}${frac.slice(0, digits).padEnd(digits, "0")}`);
  const n = Number(sign ? -minor : minor);
  return Number.isSafeInteger(n) ? n : null;
}
