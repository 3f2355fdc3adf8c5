import type { Plugin } from "../../src/core/plugin";

export type ProbeMatch = (collection: string, op: string, args: unknown[]) => boolean;

/**
 * An innermost test plugin (right above the store): counts the calls that reach MongoDB on the
 * given collections, and can hold one chosen call's result, after MongoDB answered, until
 * released — the way to force a bad interleaving on purpose.
 */
export function storeProbe(collections: readonly string[], name = "test-store-probe") {
  const counts = new Map<string, number>();
  let gate: { match: ProbeMatch; reached: () => void; release: Promise<void> } | null = null;
  const plugin: Plugin = {
    name,
    hooks: [
      {
        collection: collections,
        run: async (call, next) => {
          const k = `${call.collection}.${call.op}`;
          counts.set(k, (counts.get(k) ?? 0) + 1);
          const g = gate;
          const result = await next();
          if (g?.match(call.collection, call.op, call.args)) {
            gate = null;
            g.reached();
            await g.release;
          }
          return result;
        },
      },
    ],
  };
  return {
    plugin,
    /** Calls that reached MongoDB, e.g. `count("listings", "find")`; no op = every op. */
    count: (collection: string, op?: string) =>
      op
        ? (counts.get(`${collection}.${op}`) ?? 0)
        : [...counts]
            .filter(([k]) => k.startsWith(`${collection}.`))
            .reduce((s, [, n]) => s + n, 0),
    reset: () => counts.clear(),
    /** Holds the next matching call after MongoDB answered it; `reached` resolves when it is held. */
    hold(match: ProbeMatch) {
      let release!: () => void;
      let reached!: () => void;
      const released = new Promise<void>((r) => (release = r));
      const reachedP = new Promise<void>((r) => (reached = r));
      gate = { match, reached, release: released };
      return { reached: reachedP, release };
    },
  };
}
