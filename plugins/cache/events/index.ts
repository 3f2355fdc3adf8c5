import type { HookSpec } from "../../../src/core/hooks";
import type { Plugin, PluginContext } from "../../../src/core/plugin";
import type { CachedDoc } from "../cache-sync/collection";
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
 *
 * Where the bus can check the cache as it publishes (`publishAfter`: standalone and Sentinel
 * Redis, the cache's own connection), the hook is `eager`: each event is sent in the same tick
 * as the write-through, right behind it on that connection, and Redis publishes it only if the
 * entry then holds its version — one round trip for both. An event the entry did not hold yet
 * (a refused write-through being refilled, a failing Redis) is published the usual way once the
 * caches followed. Not with a near cache: its afterWrite feed entry must go out first.
 */
function eventHook(ctx: PluginContext, cache: CollectionCache): HookSpec {
  const decl = cache.declaration;
  const users = decl.name === "users";
  const topic = collectionEventsTopic(ctx.config.CACHE_PREFIX, decl.entity);
  const { eventsPublished } = eventMetrics(ctx.metrics);
  const idField = users ? "userId" : `${decl.entity}Id`;
  const docField = users ? "user" : decl.entity;
  const { bus } = ctx;
  const publish = (doc: CachedDoc, payload: string, early: Promise<string | null> | undefined) =>
    (early ?? Promise.resolve(null))
      .then((id) => id ?? bus.publish(topic, payload))
      .then(
        () => eventsPublished.inc(),
        (err) =>
          ctx.logger.warn(
            { err, collection: decl.name, id: doc.id },
            `${decl.event} not published`,
          ),
      );
  /** The eager sends, right behind the write-through on the cache's connection (see above). */
  const sendEarly = (events: readonly { doc: CachedDoc; payload: string }[]) =>
    events.map(({ doc, payload }) => {
      if (!cache.engine.core.protections.eventOrdering) return bus.publish(topic, payload);
      // biome-ignore lint/style/noNonNullAssertion: only called where the bus has it
      return bus.publishAfter!(topic, payload, cache.engine.key(doc.id), doc.version).then((id) => {
        eagerEvents[id === null ? "late" : "early"]++;
        return id;
      });
    });
  return {
    phase: "announce",
    collection: decl.name,
    eager: bus.publishAfter !== undefined,
    run: async (change) => {
      if (change.after.length === 0) return;
      const at = new Date().toISOString();
      const { reason } = change.write;
      const events = change.after.map((stored) => {
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
        return { doc, payload: JSON.stringify(event) };
      });
      const { followed } = change;
      const early = followed && cache.engine.near === undefined ? sendEarly(events) : [];
      // Handled below once the caches followed; a failure meanwhile is not an unhandled one.
      for (const e of early) e.catch(() => undefined);
      // An afterWrite hook failed: the write fails, and nothing more is announced.
      if (followed && !(await followed)) return;
      // Published before the write answers: an event published after an acknowledgement is
      // then ordered after that write's own event, which lets subscribers drop it (SseHub).
      await Promise.all(events.map(({ doc, payload }, i) => publish(doc, payload, early[i])));
    },
  };
}

/**
 * Eager events by outcome: `early` went out in the write's round trip, `late` waited for the
 * caches (the entry did not hold their version yet). Tests and profiles read it.
 */
export const eagerEvents = { early: 0, late: 0 };

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
