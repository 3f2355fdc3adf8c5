import pino from "pino";

/** Structured JSON logs (pino: the fastest maintained JSON logger, works unchanged on Bun). */
export type Logger = pino.Logger;

export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { service: "cachesync", ...bindings },
    // Tokens travel in headers and the SSE query ticket: never let them reach a log line.
    redact: {
      paths: ["token", "*.token", "authorization", "*.authorization", "password", "*.password"],
      censor: "[redacted]",
    },
  });
}
