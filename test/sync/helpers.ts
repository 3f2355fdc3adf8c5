import { defaultPlugins } from "../../app/plugins";
import type { Plugin } from "../../src/core/plugin";
import { storeProbe } from "../support/store-probe";

/** The store probe on `users`, with the op-only signatures the sync suites read best with. */
export function probePlugin() {
  const p = storeProbe(["users"], "test-probe");
  return {
    plugin: p.plugin,
    count: (op: string) => p.count("users", op),
    reset: p.reset,
    hold: (match: (op: string, args: unknown[]) => boolean) =>
      p.hold((_c, op, args) => match(op, args)),
  };
}

export function pluginsWithProbe(probe: ReturnType<typeof probePlugin>): Plugin[] {
  return [...defaultPlugins(), probe.plugin];
}
