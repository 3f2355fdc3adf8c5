import type { Pipeline, default as Redis } from "ioredis";

/** What the queue needs of an ioredis Command. */
export interface Deadlined {
  readonly isSettled: boolean;
  reject(err: Error): void;
}

/** Past this many settled entries at the head, the arrays are shifted (amortized O(1)). */
const COMPACT_AT = 1024;

/**
 * Exact per-command deadlines with one timer per connection. Every command gets the same timeout,
 * so deadlines grow in send order: a queue ordered by deadline is a FIFO (an entry whose clock
 * started earlier, in an auto-pipeline, is inserted from the tail, a few places back at most),
 * settled commands leave its head as new ones arrive, and one timer is armed for the head's
 * deadline. A hung command is rejected at its own deadline (plus the timer's lateness, a few ms),
 * never at a later tick: a coarse shared tick (1–1.25× the timeout) broke the 1 s bound of reads
 * answered by MongoDB while Redis is paused.
 */
export class DeadlineQueue {
  private cmds: (Deadlined | undefined)[] = [];
  private deadlines: number[] = [];
  private head = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private armedFor = Number.POSITIVE_INFINITY;

  constructor(
    private readonly timeoutMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Tracks a command just sent, issued at `since` (default now): its deadline is since + timeout. */
  push(cmd: Deadlined, since?: number): void {
    this.dropSettled();
    const now = this.now();
    const deadline = (since ?? now) + this.timeoutMs;
    const { cmds, deadlines } = this;
    let at = cmds.length;
    while (at > this.head && (deadlines[at - 1] as number) > deadline) at--;
    if (at === cmds.length) {
      cmds.push(cmd);
      deadlines.push(deadline);
    } else {
      cmds.splice(at, 0, cmd);
      deadlines.splice(at, 0, deadline);
    }
    // An armed timer waiting for an earlier deadline re-arms itself for the head when it fires.
    if (deadline < this.armedFor) {
      clearTimeout(this.timer);
      this.arm(deadline - now, deadline);
    }
  }

  /** Commands still tracked (settled ones included until they reach the head). */
  get size(): number {
    return this.cmds.length - this.head;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
  }

  private readonly expire = (): void => {
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    const now = this.now();
    const { cmds, deadlines } = this;
    while (this.head < cmds.length) {
      const cmd = cmds[this.head] as Deadlined;
      if (!cmd.isSettled) {
        if ((deadlines[this.head] as number) > now) break;
        cmd.reject(new Error("Command timed out"));
      }
      cmds[this.head++] = undefined;
    }
    this.compact();
    if (this.head < cmds.length) {
      const next = deadlines[this.head] as number;
      this.arm(next - now, next);
    }
  };

  private dropSettled(): void {
    const cmds = this.cmds;
    while (this.head < cmds.length && (cmds[this.head] as Deadlined).isSettled)
      cmds[this.head++] = undefined;
    this.compact();
  }

  private compact(): void {
    if (this.head === this.cmds.length) {
      this.cmds.length = 0;
      this.deadlines.length = 0;
      this.head = 0;
    } else if (this.head >= COMPACT_AT && this.head * 2 >= this.cmds.length) {
      this.cmds.splice(0, this.head);
      this.deadlines.splice(0, this.head);
      this.head = 0;
    }
  }

  private arm(ms: number, deadline: number): void {
    this.armedFor = deadline;
    // Timers may fire early by a fraction of a millisecond: rounding up keeps the deadline exact.
    this.timer = setTimeout(this.expire, Math.max(1, Math.ceil(ms)));
    this.timer.unref?.();
  }
}

const QUEUED_AT = Symbol("queuedAt");
type Stamped = { [QUEUED_AT]?: number };

/**
 * Replaces ioredis's `commandTimeout` (a timer armed and cleared per command, profiled on the hit
 * path) by one DeadlineQueue on the connection: every command that reaches `sendCommand`
 * unsettled (written, or a pipeline's part) gets its deadline there. Its clock starts when the
 * caller issued it: ioredis runs one auto-pipeline at a time, so a command queued behind a hung
 * one would otherwise wait for that one's timeout before its own began (twice the timeout).
 */
export function enforceDeadlines(client: Redis, timeoutMs: number): DeadlineQueue {
  const queue = new DeadlineQueue(timeoutMs);
  const send = client.sendCommand.bind(client);
  client.sendCommand = (command, stream) => {
    const sent = send(command, stream);
    if (!command.isSettled) queue.push(command, (command as Stamped)[QUEUED_AT]);
    return sent;
  };
  const pipeline = client.pipeline.bind(client);
  client.pipeline = (commands) => {
    const p = pipeline(commands) as unknown as Pipeline;
    const add = p.sendCommand.bind(p);
    p.sendCommand = (command) => {
      (command as Stamped)[QUEUED_AT] = performance.now();
      return add(command);
    };
    return p as unknown as ReturnType<typeof pipeline>;
  };
  client.once("end", () => queue.stop());
  return queue;
}
