/**
 * Crash injection for tests: `after(step)` runs right after each durable step of the balance
 * protocol and of a request approval; throwing from it stops the flow there, as a process crash
 * would, leaving exactly the state recovery must finish. Read at call time so a test can arm it
 * on a running app.
 */
/**
 * Balance steps: "intent" (a caller opId's pending row), "applied" (the one conditional update:
 * balance, guard and outbox entry) on the request path; "ledgered" (rows written) and "drained"
 * (outbox entries and guards pulled) in the background drain.
 */
export type BalanceStep = "intent" | "applied" | "ledgered" | "drained";
export type ApprovalStep = "claimed" | "debited" | "credited" | "approved";

export interface Faults {
  /** May also be async: the flow waits for it, so a test can change the world between steps. */
  after?: (
    step: BalanceStep | ApprovalStep,
    info: { opId?: string; requestId?: string },
  ) => void | Promise<void>;
  /**
   * Removes the account check of approvals (a leg whose account is gone ending the request
   * instead of failing it): what the code did before, so a test can show its checks notice.
   * Refused unless NODE_ENV=test.
   */
  withoutAccountCheck?: boolean;
  /**
   * Answers an approval without waiting for its legs' write-through and events (what overlapping
   * them with the next step would do unguarded), so a test can show its check notices. Refused
   * unless NODE_ENV=test.
   */
  answerBeforeWriteThrough?: boolean;
}

export const fire = (
  faults: Faults | undefined,
  step: BalanceStep | ApprovalStep,
  info: { opId?: string; requestId?: string } = {},
): void | Promise<void> => faults?.after?.(step, info);
