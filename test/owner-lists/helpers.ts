import type { Plugin } from "../../src/core/plugin";
import { storeProbe } from "../support/store-probe";

/** A find whose filter is owner-scoped on `userId` (what a list fill sends). */
export const ownerScopedFind = (collection: string) => (c: string, op: string, args: unknown[]) =>
  c === collection && op === "find" && Object.keys((args[0] as object) ?? {}).join() === "userId";

/**
 * The store probe on `listings` and `favorites`, plus `fills(collection)`: how many owner-scoped
 * finds (list fills) reached MongoDB, as opposed to the by-`_id` read that resolves listings.
 */
export const listProbe = (collections: readonly string[] = ["listings", "favorites"]) => {
  const probe = storeProbe(collections, "test-list-probe");
  const fills = new Map<string, number>();
  const counter: Plugin = {
    name: "test-list-fill-counter",
    hooks: [
      {
        collection: collections,
        op: "find",
        run: (call, next) => {
          if (ownerScopedFind(call.collection)(call.collection, call.op, call.args))
            fills.set(call.collection, (fills.get(call.collection) ?? 0) + 1);
          return next();
        },
      },
    ],
  };
  return {
    ...probe,
    plugins: [counter, probe.plugin],
    fills: (collection?: string) =>
      collection ? (fills.get(collection) ?? 0) : [...fills.values()].reduce((s, n) => s + n, 0),
    reset: () => {
      probe.reset();
      fills.clear();
    },
  };
};
