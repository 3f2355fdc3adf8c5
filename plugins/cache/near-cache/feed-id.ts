/** Stream ids (`<ms>-<seq>` on Redis, numeric on the in-process bus) in their order. */
export function compareIds(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split("-").map((p) => BigInt(p));
  const [bm = 0n, bs = 0n] = b.split("-").map((p) => BigInt(p));
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1;
}
