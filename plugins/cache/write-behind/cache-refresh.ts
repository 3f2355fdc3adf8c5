import type { PluginContext } from "../../../src/core/plugin";
import type { Doc } from "../../../src/core/ports/document-store";

/**
 * After write-behind wrote documents to MongoDB (with a new version), their cache entries move
 * to that version through the collection engine's versioned write-through, as after any other
 * write. A collection that is not a cached collection has nothing to refresh.
 */
export async function refreshCached(
  ctx: PluginContext,
  collection: string,
  docs: readonly Doc[],
): Promise<void> {
  const engine = ctx.has("cache") ? ctx.use("cache").collection(collection)?.engine : undefined;
  if (!engine) return;
  await Promise.all(docs.map((doc) => engine.writeThrough(engine.sanitize(doc))));
}
