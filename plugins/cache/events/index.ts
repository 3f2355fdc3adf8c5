import type { HookSpec } from "../../../src/core/hooks";
import type { Plugin, PluginContext } from "../../../src/core/plugin";
import type { CollectionCache } from "../cache-sync/collection-cache";
import { eventMetrics } from "./metrics";
import { type CollectionEvent, changedFields, collectionEventsTopic } from "./user-data-updated";

export { eventMetrics } from "./metrics";
export {
  type CollectionEvent,
  changedFields,
  collectionEventsTopic,
  eventsTopic,
  type UserDataUpdated,
} from "./user-data-updated";

/**
 * `announce` (after every cache followed the write): publish the declared collection's
 * `…Updated` event on the bus, which fans out to every instance, before the write answers. Users publish SPEC §5's
 * `userDataUpdated` on `<prefix>events` (what the SSE plugin serves); another collection
 * publishes `<entity>Updated` on `<prefix>events:<entity>`. Publishing never fails the write:
 * MongoDB has it already; a lost event is logged and counted.
 */
function eventHook(ctx: PluginContext, cache: CollectionCache): HookSpec {
  const decl = cache.declaration;
  const users = decl.name === "users";
  const topic = collectionEventsTopic(ctx.config.CACHE_PREFIX, decl.entity);
  const { eventsPublished } = eventMetrics(ctx.metrics);
  const idField = users ? "userId" : `${decl.entity}Id`;
  const docField = users ? "user" : decl.entity;
  return {
    phase: "announce",
    collection: decl.name,
    run: async (change) => {
      if (change.after.length === 0) return;
      const at = new Date().toISOString();
      const { reason } = change.write;
      const published = change.after.map((stored) => {
        const doc = cache.engine.sanitize(stored);
        const changed =
          change.op === "insertOne"
            ? Object.keys(doc).filter((k) => k !== "id")
            : changedFields(change.args[1], doc);
        const event: CollectionEvent = {
          type: decl.event,
          [idField]: doc.id,
          version: doc.version,
          changed,
          [docField]: doc,
          at,
          ...(reason ? { reason } : {}),
        };
        return ctx.bus.publish(topic, JSON.stringify(event)).then(
          () => eventsPublished.inc(),
          (err) =>
            ctx.logger.warn(
              { err, collection: decl.name, id: doc.id },
              `${decl.event} not published`,
            ),
        );
      });
      // Published before the write answers: an event published after an acknowledgement is
      // then ordered after that write's own event, which lets subscribers drop it (SseHub).
      await Promise.all(published);
    },
  };
}

export function eventsPlugin(): Plugin {
  return {
    name: "events",
    dependencies: ["cache-sync"],
    hooks: (ctx) =>
      ctx
        .use("cache")
        .all()
        .map((cache) => eventHook(ctx, cache)),
  };
}
