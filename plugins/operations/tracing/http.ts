import { SpanStatusCode } from "@opentelemetry/api";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../../../src/core/app-env";
import { inSpan, SpanKind } from "./tracer";

/** One SERVER span per request, the parent of every engine, Redis and MongoDB span it causes. */
export function httpSpans(): MiddlewareHandler<AppEnv> {
  return function traceRequest(c, next) {
    const method = c.req.method;
    return inSpan(
      `${method} ${c.req.path}`,
      SpanKind.SERVER,
      { "http.request.method": method, "url.path": c.req.path },
      async (span) => {
        await next();
        span.setAttribute("http.response.status_code", c.res.status);
        if (c.res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      },
    );
  };
}
