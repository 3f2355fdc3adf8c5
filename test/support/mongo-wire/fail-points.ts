import type { Document } from "bson";
import { EngineError } from "../../../src/adapters/memory/engine";
import { toNumber } from "./cursors";

/** What an armed `failCommand` fail point does to one command. */
export interface Failure {
  /** Drop the connection without answering (a network error for the driver). */
  closeConnection: boolean;
  /** The error reply to send instead of running the command. */
  reply?: Document;
  /** A write concern error added to the command's own successful reply. */
  writeConcernError?: Document;
}

interface Armed {
  /** Remaining activations; Infinity for `alwaysOn`. */
  times: number;
  skip: number;
  commands: Set<string>;
  data: Document;
}

/**
 * mongod's `failCommand` fail point (`configureFailPoint`, enabled on test servers): the next
 * N (or every) named command fails with a given code, closes the connection, or carries a write
 * concern error. The driver's own tests and the CRUD specification tests rely on it.
 */
export class FailPoints {
  private armed: Armed | null = null;

  configure(body: Document): Document {
    if (body.configureFailPoint !== "failCommand")
      throw new EngineError(
        2,
        "BadValue",
        `Cannot find failpoint ${String(body.configureFailPoint)} (only failCommand is available)`,
      );
    const mode = body.mode;
    if (mode === "off") {
      this.armed = null;
      return { count: 0, ok: 1 };
    }
    const data = (body.data ?? {}) as Document;
    const commands = new Set(Array.isArray(data.failCommands) ? data.failCommands.map(String) : []);
    if (!commands.size)
      throw new EngineError(2, "BadValue", "failCommand fail point needs data.failCommands");
    let times = Number.POSITIVE_INFINITY;
    let skip = 0;
    if (mode !== "alwaysOn") {
      const spec = (mode ?? {}) as Document;
      if (spec.times !== undefined) times = toNumber(spec.times) ?? 0;
      else if (spec.skip !== undefined) skip = toNumber(spec.skip) ?? 0;
      else throw new EngineError(2, "BadValue", "mode must be off, alwaysOn, {times} or {skip}");
    }
    this.armed = { times, skip, commands, data };
    return { count: 0, ok: 1 };
  }

  /** The failure for this command, if the fail point is armed for it (consuming one activation). */
  take(command: string): Failure | undefined {
    const armed = this.armed;
    if (!armed?.commands.has(command)) return undefined;
    if (armed.skip > 0) {
      armed.skip--;
      return undefined;
    }
    if (--armed.times <= 0) this.armed = null;
    const { data } = armed;
    const failure: Failure = { closeConnection: data.closeConnection === true };
    if (typeof data.errorCode === "number") {
      failure.reply = {
        ok: 0,
        code: data.errorCode,
        errmsg: "Failing command via 'failCommand' failpoint",
        ...(Array.isArray(data.errorLabels) ? { errorLabels: data.errorLabels } : {}),
      };
    }
    if (data.writeConcernError && typeof data.writeConcernError === "object")
      failure.writeConcernError = data.writeConcernError as Document;
    return failure;
  }
}
