import type Redis from "ioredis";

const SEEN = Symbol("deadlineTick");
const TICKS_PER_TIMEOUT = 4;

type Tracked = { isSettled: boolean; reject(err: Error): void; [SEEN]?: number };

/**
 * One deadline timer per connection instead of ioredis's `commandTimeout`, which arms and
 * clears a timer for every command (profiled on the hit path: the floor client sets none).
 * A tick every quarter of the timeout stamps the commands waiting for their reply (ioredis's
 * `commandQueue`, in send order) and rejects those stamped a full timeout ago, as ioredis's own
 * timer would: a hung command fails within 1–1.25× the timeout instead of exactly at it.
 */
export function shareDeadlines(client: Redis, timeoutMs: number): void {
  const tickMs = Math.max(5, Math.floor(timeoutMs / TICKS_PER_TIMEOUT));
  const ticksToFail = Math.ceil(timeoutMs / tickMs);
  let tick = 0;
  const timer = setInterval(() => {
    tick++;
    const queue = client.commandQueue;
    for (let i = 0; i < queue.length; i++) {
      const cmd = queue.peekAt(i)?.command as unknown as Tracked | undefined;
      if (!cmd || cmd.isSettled) continue;
      const seen = cmd[SEEN];
      if (seen === undefined) cmd[SEEN] = tick;
      else if (tick - seen >= ticksToFail) cmd.reject(new Error("Command timed out"));
    }
  }, tickMs);
  timer.unref?.();
  client.once("end", () => clearInterval(timer));
}
