import { StoreUnavailableError } from "../../core/errors";
import { mapMongoError } from "./errors";

/**
 * Runs a driver call under a hard deadline. The driver's own socket and server-selection
 * timeouts end most stalls, but a call may retry or queue for a connection; the deadline is what
 * lets the port promise "never a hang". A call that times out may still complete on the server
 * later (as with any database timeout): callers must treat it as "outcome unknown".
 */
export async function withDeadline<T>(timeoutMs: number, run: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new StoreUnavailableError("mongo", new Error(`no answer within ${timeoutMs} ms`))),
      timeoutMs,
    );
  });
  const call = run();
  // The losing call must not surface as an unhandled rejection.
  call.catch(() => {});
  try {
    return await Promise.race([call, deadline]);
  } catch (err) {
    throw mapMongoError(err);
  } finally {
    clearTimeout(timer);
  }
}
