import type { Plugin } from "../../src/core/plugin";

type Match = (collection: string, op: string, args: unknown[]) => boolean;

/**
 * Innermost plugin counting the calls that reach MongoDB on `listings` and `favorites`, and able
 * to hold one chosen call's result (after MongoDB answered) until released: forced interleavings.
 */
export function listProbe(collections: readonly string[] = ["listings", "favorites"]) {
  const counts = new Map<string, number>();
  let gate: { match: Match; reached: () => void; release: Promise<void> } | null = null;
  const plugin: Plugin = {
    name: "test-list-probe",
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
      op ? (counts.get(`${collection}.${op}`) ?? 0) : [...counts].filter(([k]) => k.startsWith(`${collection}.`)).reduce((s, [, n]) => s + n, 0),
    reset: () => counts.clear(),
    hold(match: Match) {
      let release!: () => void;
      let reached!: () => void;
      const released = new Promise<void>((r) => (release = r));
      const reachedP = new Promise<void>((r) => (reached = r));
      gate = { match, reached, release: released };
      return { reached: reachedP, release };
    },
  };
}

/** A find whose filter is owner-scoped on `userId` (what the profile sends). */
export const ownerScopedFind = (collection: string) => (c: string, op: string, args: unknown[]) =>
  c === collection && op === "find" && Object.keys((args[0] as object) ?? {}).join() === "userId";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
