import type { MiddlewareHandler } from "hono";
import { LRUCache } from "lru-cache";
import type { AppEnv } from "../../../src/core/app-env";
import type { PluginContext } from "../../../src/core/plugin";
import { USER_COLLECTION } from "../../features/users";
import type { WriteBehindQueue } from "./queue";

export const LAST_SEEN_FIELD = "lastSeenAt";

/**
 * `users.lastSeenAt` after every authenticated request that succeeded, at most once per
 * LAST_SEEN_INTERVAL_SECONDS per user on this instance (the queue would coalesce the rest anyway;
 * this keeps them off Redis too). Never delays nor fails the request: the change is queued after
 * the answer is ready, and a failure is only logged.
 */
export function lastSeenMiddleware(
  ctx: PluginContext,
  queue: WriteBehindQueue,
): MiddlewareHandler<AppEnv> {
  const intervalMs = ctx.config.LAST_SEEN_INTERVAL_SECONDS * 1000;
  const recent = new LRUCache<string, number>({ max: 100_000, ttl: intervalMs });
  return async function lastSeen(c, next) {
    await next();
    const user = c.get("user");
    if (!user || c.res.status >= 400 || recent.has(user.id)) return;
    const now = Date.now();
    recent.set(user.id, now);
    queue.change(USER_COLLECTION, user.id, { latest: { [LAST_SEEN_FIELD]: now } }).catch((err) => {
      recent.delete(user.id);
      ctx.logger.debug({ err, userId: user.id }, "lastSeenAt not recorded");
    });
  };
}
