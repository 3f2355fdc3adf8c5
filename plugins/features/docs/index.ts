import { dirname, join } from "node:path";
import { Scalar } from "@scalar/hono-api-reference";
import { createRouter } from "../../../src/core/app";
import type { Plugin } from "../../../src/core/plugin";

/** The viewer's single-file browser bundle, from the exactly pinned @scalar/api-reference. */
const VIEWER_BUNDLE = join(
  dirname(Bun.resolveSync("@scalar/api-reference", import.meta.dir)),
  "browser/standalone.js",
);
export const VIEWER_PATH = "/docs/assets/scalar.js";

/**
 * `GET /docs`: the interactive reference (Scalar) for the `/openapi.json` the core serves. Not an
 * API route itself, so it is a plain route and stays out of the document. Everything it loads
 * comes from this server — the viewer script, no web fonts, no telemetry — so it works offline
 * and never runs a third-party script whose version we did not choose.
 */
export function docsPlugin(): Plugin {
  return {
    name: "docs",
    basePath: "/",
    routes() {
      const router = createRouter();
      router.get(
        "/docs",
        Scalar({
          url: "/openapi.json",
          pageTitle: "cachesync API",
          cdn: VIEWER_PATH,
          withDefaultFonts: false,
          telemetry: false,
        }),
      );
      router.get(VIEWER_PATH, () => {
        return new Response(Bun.file(VIEWER_BUNDLE), {
          headers: {
            "content-type": "text/javascript; charset=utf-8",
            // Same file until the pinned version changes, which needs a deploy anyway.
            "cache-control": "public, max-age=86400",
            "x-content-type-options": "nosniff",
          },
        });
      });
      return router;
    },
  };
}
