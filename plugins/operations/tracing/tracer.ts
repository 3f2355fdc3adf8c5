import { type Attributes, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";

/**
 * The package's tracer, from the standard OTel API: spans go to whatever SDK the host registered
 * (`trace.setGlobalTracerProvider`); with none they cost a no-op.
 */
export const tracer = () => trace.getTracer("cachesync");

/** Runs `fn` in a new active span, ended when its promise settles; a rejection marks it an error. */
export function inSpan<T>(
  name: string,
  kind: SpanKind,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return tracer().startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
    }
  });
}

export { SpanKind };
