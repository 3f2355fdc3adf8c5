import { extname, resolve, sep } from "node:path";
import type { Context } from "hono";
import { browserClientBundle } from "../../../src/client/bundle";
import { createRouter } from "../../../src/core/app";
import type { AppEnv } from "../../../src/core/app-env";
import type { Plugin } from "../../../src/core/plugin";

/** Only what `public/` is meant to hold; anything else is a 404 rather than a guessed type. */
const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * The page talks only to this origin (API, SSE); no inline script or style, so a reflected
 * value can never run even if some future markup forgets to escape it.
 */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const assetHeaders = {
  // No hashed names: revalidate so a deploy is seen at once.
  "cache-control": "no-cache",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/** Where the page imports `cachesync/client` from. */
export const CLIENT_ASSET = "/app/cachesync-client.js";

export interface WebPluginOptions {
  /** Folder served under `/app/*`; `index.html` in it is the page at `/`. */
  publicDir?: string;
}

/**
 * The browser client: `GET /` (the page) and `GET /app/*` (its assets from `public/`). Plain
 * routes, not API routes, so they stay out of `/openapi.json` (like `/docs`).
 */
export function webPlugin(options: WebPluginOptions = {}): Plugin {
  const root = resolve(options.publicDir ?? resolve(import.meta.dir, "../../../public"));

  async function send(c: Context<AppEnv>, rel: string): Promise<Response> {
    // The app's own 404 (the JSON envelope every unknown route gets), not a second copy of it.
    const notFound = () => c.notFound();
    // Decoding happens before the containment check, so an encoded `..%2f` is caught too. A NUL
    // or backslash never names a real asset and only serves to confuse path handling.
    try {
      rel = decodeURIComponent(rel);
    } catch {
      return notFound();
    }
    if (rel.includes("\0") || rel.includes("\\")) return notFound();
    const file = resolve(root, rel);
    // resolve() folds `..`; anything that lands outside the folder is refused, not clamped.
    if (!file.startsWith(root + sep)) return notFound();
    const type = TYPES[extname(file).toLowerCase()];
    if (!type) return notFound();
    const blob = Bun.file(file);
    if (!(await blob.exists())) return notFound();
    return new Response(blob, {
      headers: {
        "content-type": type,
        ...assetHeaders,
        ...(type.startsWith("text/html") ? { "content-security-policy": CSP } : {}),
      },
    });
  }

  return {
    name: "web",
    basePath: "/",
    routes() {
      const router = createRouter();
      router.get("/", (c) => send(c, "index.html"));
      // The typed API client (src/client), bundled for the page; before the files under /app/*.
      router.get(CLIENT_ASSET, async (c) =>
        c.body(await browserClientBundle(), 200, { ...assetHeaders, "content-type": TYPES[".js"] }),
      );
      router.get("/app/*", (c) => send(c, c.req.path.slice("/app/".length)));
      return router;
    },
  };
}
