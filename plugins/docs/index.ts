import { Scalar } from "@scalar/hono-api-reference";
import { createRouter } from "../../src/core/app";
import type { Plugin } from "../../src/core/plugin";

/**
 * `GET /docs`: the interactive reference (Scalar) for the `/openapi.json` the core serves. Not an
 * API route itself, so it is a plain route and stays out of the document.
 */
export function docsPlugin(): Plugin {
  return {
    name: "docs",
    basePath: "/",
    routes() {
      const router = createRouter();
      router.get("/docs", Scalar({ url: "/openapi.json", pageTitle: "cachesync API" }));
      return router;
    },
  };
}
