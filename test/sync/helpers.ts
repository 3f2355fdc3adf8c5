import type { Plugin } from "../../src/core/plugin";
import { defaultPlugins } from "../../src/plugins";

/**
 * A plugin placed innermost (right above the store) that counts what reaches MongoDB and can
 * hold a chosen call's result until released: the way to force a bad interleaving on purpose.
 */
export function probePlugin() {
  const counts = new Map<string, number>();
  let gate: { match: (op: string, args: unknown[]) => boolean; reached: () => void; release: Promise<void> } | null = null;
  const plugin: Plugin = {
    name: "test-probe",
    hooks: [
      {
        collection: "users",
        run: async (call, next) => {
          counts.set(call.op, (counts.get(call.op) ?? 0) + 1);
          const g = gate;
          const result = await next();
          if (g?.match(call.op, call.args)) {
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
    count: (op: string) => counts.get(op) ?? 0,
    reset: () => counts.clear(),
    /** Holds the next matching call after MongoDB answered it; resolves `reached` when it is held. */
    hold(match: (op: string, args: unknown[]) => boolean) {
      let release!: () => void;
      let reached!: () => void;
      const released = new Promise<void>((r) => (release = r));
      const reachedP = new Promise<void>((r) => (reached = r));
      gate = { match, reached, release: released };
      return { reached: reachedP, release };
    },
  };
}

export function pluginsWithProbe(probe: ReturnType<typeof probePlugin>): Plugin[] {
  return [...defaultPlugins(), probe.plugin];
}
