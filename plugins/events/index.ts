import type { Plugin } from "../../src/core/plugin";
import { type SanitizedUser, USER_COLLECTION } from "../../src/domain/user";
import { eventMetrics } from "./metrics";
import { changedFields, eventsTopic, type UserDataUpdated } from "./user-data-updated";

export { eventMetrics } from "./metrics";
export { changedFields, eventsTopic, type UserDataUpdated } from "./user-data-updated";

/**
 * After every users write (write-through, balance change) publish `userDataUpdated` on the bus,
 * which fans out to every instance's SSE clients, before the write answers. Publishing never
 * fails the write: MongoDB has it already; a lost event is logged and counted.
 */
export function eventsPlugin(): Plugin {
  return {
    name: "events",
    dependencies: ["sanitize"],
    hooks: (ctx) => {
      const topic = eventsTopic(ctx.config.CACHE_PREFIX);
      const sanitize = ctx.use("sanitizeUser");
      const { eventsPublished } = eventMetrics(ctx.metrics);
      return [
        {
          collection: USER_COLLECTION,
          kind: "write",
          run: async (call, next) => {
            const result = await next();
            let users = call.state.changedUsers as SanitizedUser[] | undefined;
            if (
              !users &&
              result &&
              typeof result === "object" &&
              "_id" in result &&
              call.op !== "deleteOne"
            ) {
              users = [sanitize(result as Record<string, unknown>)];
            }
            if (!users?.length) return result;
            const at = new Date().toISOString();
            const published: Promise<void>[] = [];
            const reason = typeof call.state.reason === "string" ? call.state.reason : undefined;
            for (const user of users) {
              const changed =
                call.op === "insertOne"
                  ? Object.keys(user).filter((k) => k !== "id")
                  : changedFields(call.args[1], user);
              const event: UserDataUpdated = {
                type: "userDataUpdated",
                userId: user.id,
                version: user.version,
                changed,
                user,
                at,
                ...(reason ? { reason } : {}),
              };
              published.push(
                ctx.bus.publish(topic, JSON.stringify(event)).then(
                  () => eventsPublished.inc(),
                  (err) =>
                    ctx.logger.warn({ err, userId: user.id }, "userDataUpdated not published"),
                ),
              );
            }
            // Published before the write answers: an event published after an acknowledgement is
            // then ordered after that write's own event, which lets subscribers drop it (SseHub).
            await Promise.all(published);
            return result;
          },
        },
      ];
    },
  };
}
