import type { HookSpec } from "../../../src/core/hooks";
import type { Plugin } from "../../../src/core/plugin";
import type { CollectionCache } from "../cache-sync/collection-cache";
import { DELETED_VERSION } from "../cache-sync/core";

/**
 * `afterWrite` for one declared collection: once MongoDB acknowledged a write, the documents as
 * it left them (computed once by the repository) go to Redis at once, versioned, forward only;
 * deleted documents leave tombstones.
 */
function writeThroughHook(cache: CollectionCache): HookSpec {
  const { engine } = cache;
  return {
    phase: "afterWrite",
    collection: cache.name,
    run: async (change) => {
      await Promise.all([
        ...change.removed.map((d) =>
          engine.invalidateEntry(d._id.toHexString(), DELETED_VERSION, [d]),
        ),
        ...change.after.map((d) => engine.writeThrough(engine.sanitize(d))),
      ]);
    },
  };
}

/** Write-through (SPEC §2 updateUserWithSync) for every declared collection. */
export function writeThroughPlugin(): Plugin {
  return {
    name: "write-through",
    dependencies: ["cache-sync"],
    hooks: (ctx) => ctx.use("cache").all().map(writeThroughHook),
  };
}
