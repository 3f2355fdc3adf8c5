import type { CacheStore } from "../../src/core/ports/cache-store";

type Method = {
  [K in keyof CacheStore]: CacheStore[K] extends (...args: never[]) => unknown ? K : never;
}[keyof CacheStore];

/**
 * The cache-side twin of `storeProbe().hold`: holds the next call of `method` on this store whose
 * arguments match, after Redis answered it, until released — to force an interleaving that needs
 * an instance stopped between two Redis calls (e.g. after its fill landed, before its load ends).
 * The store is the real one; only that one call is delayed, and the method is restored after it.
 */
export function holdCacheCall<M extends Method>(
  store: CacheStore,
  method: M,
  match: (...args: Parameters<CacheStore[M]>) => boolean = () => true,
): { reached: Promise<void>; release: () => void } {
  let release!: () => void;
  let reached!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const reachedP = new Promise<void>((r) => (reached = r));
  const target = store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const original = target[method] as (...args: unknown[]) => Promise<unknown>;
  const own = Object.hasOwn(target, method);
  target[method] = async (...args: unknown[]) => {
    const result = await original.apply(store, args);
    if ((match as (...a: unknown[]) => boolean)(...args)) {
      if (own) target[method] = original;
      else delete target[method]; // the prototype's method again
      reached();
      await released;
    }
    return result;
  };
  return { reached: reachedP, release };
}
