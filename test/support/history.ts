/**
 * A Jepsen-style history: every operation's invocation and its completion, with the time of
 * each (performance.now(), one clock for every client of the run). `checkHistory`
 * (history-checker.ts) reads it afterwards.
 */

/** What an operation does. */
export type OpKind =
  | "read" // a user read through the cache: value = the version returned
  | "write" // a user write: value = the version acknowledged
  | "money" // a balance change (deposit approved): value = the amount credited
  | "event" // an SSE event received: value = version, meta.eventId
  | "audit"; // a final look at MongoDB: value = balance, meta.ledger = the ledger's sum

/**
 * How it ended: `ok` (acknowledged, value known), `fail` (known not to have happened: refused
 * before any store took it) or `info` (unknown: it may have happened — a timeout, a 503 after
 * MongoDB may have taken the write). Checkers treat `info` writes as possibly applied.
 */
export type OpOutcome = "ok" | "fail" | "info";

export interface Op {
  index: number;
  /** Which client (a logical single-threaded process) ran it. */
  process: string;
  kind: OpKind;
  key: string;
  /** Which API instance it went through. */
  instance: string;
  start: number;
  end: number;
  outcome: OpOutcome;
  value?: number;
  /** A version token the read presented (X-Min-Version): checked with no staleness bound. */
  minVersion?: number;
  meta?: Record<string, string | number>;
}

/** Handle of an invoked operation: exactly one of `ok`, `fail`, `info` completes it. */
export interface Invocation {
  ok(value?: number, meta?: Op["meta"]): Op;
  fail(meta?: Op["meta"]): Op;
  info(meta?: Op["meta"]): Op;
}

export class HistoryRecorder {
  readonly ops: Op[] = [];
  private next = 0;

  invoke(
    process: string,
    kind: OpKind,
    key: string,
    instance: string,
    extra: { minVersion?: number } = {},
  ): Invocation {
    const start = performance.now();
    const index = this.next++;
    const done =
      (outcome: OpOutcome) =>
      (value?: number, meta?: Op["meta"]): Op => {
        const op: Op = {
          index,
          process,
          kind,
          key,
          instance,
          start,
          end: performance.now(),
          outcome,
          ...extra,
        };
        if (value !== undefined) op.value = value;
        if (meta) op.meta = meta;
        this.ops.push(op);
        return op;
      };
    return {
      ok: done("ok"),
      fail: (meta) => done("fail")(undefined, meta),
      info: (meta) => done("info")(undefined, meta),
    };
  }

  /** Records an operation that happened at one instant (an event arriving). */
  instant(
    process: string,
    kind: OpKind,
    key: string,
    instance: string,
    value: number,
    meta?: Op["meta"],
  ): Op {
    return this.invoke(process, kind, key, instance).ok(value, meta);
  }

  count(kind: OpKind, outcome?: OpOutcome): number {
    return this.ops.filter((o) => o.kind === kind && (!outcome || o.outcome === outcome)).length;
  }
}
