/**
 * Whether the write `(id, version)` is in the sample: a hash, not `Math.random()`, so every
 * instance that sees the same write's event samples it too and each re-checks its own layers
 * (its near cache is its own) for the same writes.
 */
export function sampled(id: string, version: number, rate: number): boolean {
  if (rate <= 0) return false;
  if (rate >= 1) return true;
  // FNV-1a, 32 bits: cheap, and spread well enough for a sampling share.
  let h = 0x811c9dc5;
  const s = `${id}:${version}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) / 0x1_0000_0000 < rate;
}
