import type { PluginContext } from "../../../src/core/plugin";
import type { BusMessage } from "../../../src/core/ports/event-bus";

/**
 * Subscribes to `topic`, retrying in the background while the bus (Redis) cannot take the
 * subscription: Redis down at start-up must not stop the API (SPEC §2). Returns the stop function.
 */
export function subscribeWithRetry(
  ctx: PluginContext,
  topic: string,
  handler: (msg: BusMessage) => void,
  what: string,
): () => Promise<void> {
  let closed = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let unsubscribe: (() => Promise<void>) | undefined;
  let delay = 250;
  const attempt = async (): Promise<void> => {
    if (closed) return;
    try {
      const un = await ctx.bus.subscribe(topic, handler);
      if (closed) await un();
      else unsubscribe = un;
    } catch (err) {
      ctx.logger.warn({ err, retryInMs: delay }, `${what}: bus subscription failed, retrying`);
      retry = setTimeout(() => void attempt(), delay);
      (retry as { unref?: () => void }).unref?.();
      delay = Math.min(delay * 2, 5000);
    }
  };
  void attempt();
  return async () => {
    closed = true;
    if (retry) clearTimeout(retry);
    await unsubscribe?.();
  };
}
