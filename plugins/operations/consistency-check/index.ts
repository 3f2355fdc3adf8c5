import type { Plugin } from "../../../src/core/plugin";
import { consistencyMetrics } from "./metrics";
import { runConsistencyCheck } from "./run-consistency-check";

export { consistencyMetrics } from "./metrics";
export {
  type ConsistencyCheckOptions,
  type ConsistencyCheckResult,
  consistencyLockKey,
  runConsistencyCheck,
} from "./run-consistency-check";

/**
 * Runs `runConsistencyCheck` every CONSISTENCY_CHECK_INTERVAL_SECONDS (0 = off). The timer is
 * unref'd (it never keeps a process alive) and a round never overlaps the previous one.
 */
export function consistencyCheckPlugin(): Plugin {
  let timer: ReturnType<typeof setInterval> | undefined;
  let running: Promise<unknown> | undefined;
  return {
    name: "consistency-check",
    dependencies: ["cache-sync"],
    register(ctx) {
      consistencyMetrics(ctx.metrics);
    },
    onReady(ctx) {
      const seconds = ctx.config.CONSISTENCY_CHECK_INTERVAL_SECONDS;
      if (seconds === 0) return;
      timer = setInterval(() => {
        if (running) return;
        running = runConsistencyCheck(ctx)
          .catch((err) => ctx.logger.error({ err }, "consistency check failed"))
          .finally(() => {
            running = undefined;
          });
      }, seconds * 1000);
      timer.unref?.();
    },
    async onClose() {
      clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
