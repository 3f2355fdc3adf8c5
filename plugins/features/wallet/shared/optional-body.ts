import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../../../../src/core/app-env";

/**
 * For routes whose JSON body is optional: `content-type: application/json` with an empty body
 * is "no body", as clients (curl -H, fetch wrappers) send it, not malformed JSON. The request
 * is re-created without the header, so the validator takes the documented no-body path.
 * A non-empty body is left alone (its text is cached by Hono and validated as usual).
 */
export const optionalJsonBody: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.header("content-type") !== undefined && (await c.req.text()).trim() === "") {
    const headers = new Headers(c.req.raw.headers);
    headers.delete("content-type");
    headers.delete("content-length");
    c.req.raw = new Request(c.req.raw.url, { method: c.req.method, headers });
  }
  await next();
};
