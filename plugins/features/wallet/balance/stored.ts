import type { HookSpec } from "../../../../src/core/hooks";
import type { PluginContext } from "../../../../src/core/plugin";
import { USER_COLLECTION } from "../../users";

type Listener = () => void;
const waiting = new WeakMap<object, Map<string, Listener>>();
const listenersOf = (ctx: PluginContext): Map<string, Listener> => {
  let m = waiting.get(ctx.repo);
  if (!m) {
    m = new Map();
    waiting.set(ctx.repo, m);
  }
  return m;
};

/**
 * `write` hook (around the store write itself) on the balance update: tells whoever waits for an
 * op that MongoDB acknowledged its update, while the write-through and the event still follow
 * in `afterWrite` / `announce`. Lets an approval start its next step meanwhile (legs.ts).
 */
export function storedHook(ctx: PluginContext): HookSpec {
  const listeners = listenersOf(ctx);
  return {
    phase: "write",
    collection: USER_COLLECTION,
    op: "findOneAndUpdate",
    run: async (call, next) => {
      const result = await next();
      const { opId } = call.write;
      if (result && opId !== undefined) listeners.get(opId)?.();
      return result;
    },
  };
}

/**
 * Calls `listener` once the op's update matched in MongoDB. Returns the unsubscribe. One
 * listener per op: a second run of the same op (recovery racing the originator) replaces it, and
 * the first then learns the outcome when its run returns.
 */
export function whenStored(ctx: PluginContext, opId: string, listener: Listener): () => void {
  const listeners = listenersOf(ctx);
  listeners.set(opId, listener);
  return () => {
    if (listeners.get(opId) === listener) listeners.delete(opId);
  };
}
