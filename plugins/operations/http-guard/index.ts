import { bodyLimit } from "hono/body-limit";
import { secureHeaders } from "hono/secure-headers";
import { appError } from "../../../src/core/errors";
import type { Plugin } from "../../../src/core/plugin";

/**
 * The edge of every request, before any route reads it:
 * - bodies over `MAX_BODY_BYTES` are refused with 413: a declared `Content-Length` over the cap
 *   is refused without reading a byte of the body, a chunked body as soon as it crosses the cap;
 * - security headers on every response (`nosniff`, `frame-ancestors 'none'`, `no-referrer`…).
 *   They never overwrite a header a route set itself, so the web page keeps its stricter CSP.
 *   HSTS is left to the TLS terminator, which knows whether the whole domain is HTTPS.
 *
 * Load it first: middleware mounts in plugin order.
 */
export function httpGuardPlugin(): Plugin {
  return {
    name: "http-guard",
    middleware(ctx) {
      const max = ctx.config.MAX_BODY_BYTES;
      return [
        secureHeaders({
          contentSecurityPolicy: { frameAncestors: ["'none'"] },
          strictTransportSecurity: false,
          overwrite: false,
        }),
        bodyLimit({
          maxSize: max,
          onError: () => {
            throw appError(
              "PAYLOAD_TOO_LARGE",
              `Request body larger than MAX_BODY_BYTES (${max} bytes)`,
            );
          },
        }),
      ];
    },
  };
}
