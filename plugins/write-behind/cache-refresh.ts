import type { PluginContext } from "../../src/core/plugin";
import type { Doc } from "../../src/core/ports/document-store";
import { USER_COLLECTION } from "../users";

/**
 * After write-behind wrote documents to MongoDB (with a new version), their cache entries move
 * to that version through the engine's versioned write-through, as after any other write. A
 * collection without an entity cache has nothing to refresh.
 */
export async function refreshCached(
  ctx: PluginContext,
  collection: string,
  docs: readonly Doc[],
): Promise<void> {
  if (collection !== USER_COLLECTION || !ctx.has("cacheEngine")) return;
  const engine = ctx.use("cacheEngine");
  await Promise.all(docs.map((doc) => engine.writeThrough(engine.sanitize(doc))));
}
