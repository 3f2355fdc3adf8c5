import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../../../src/core/app-env";
import { appError } from "../../../src/core/errors";
import type { Plugin } from "../../../src/core/plugin";
import { USER_COLLECTION } from "../../features/users";
import { type ReadScope, readScope } from "../cache-sync/read-floor";

export const MIN_VERSION_HEADER = "X-Min-Version";

const VERSION = /^\d{1,15}$/;
const READS = new Set(["GET", "HEAD", "OPTIONS"]);

/** `X-Min-Version: 12` or the `ETag` form `W/"12"` (what a client got back from its write). */
export function parseMinVersion(raw: string): number | null {
  const v = raw.trim().replace(/^W\/"(.*)"$/, "$1");
  return VERSION.test(v) ? Number(v) : null;
}

/**
 * The version a write response carries: the caller's own document when the request wrote it
 * (an approval writes the admin's and the user's; the admin's is the caller's), else the last
 * document written.
 */
function etagVersion(scope: ReadScope, callerId: string | undefined): number | undefined {
  const own = scope.written.filter((w) => w.collection === USER_COLLECTION && w.id === callerId);
  const pick = own.length ? own : scope.written;
  return pick.length ? Math.max(...pick.map((w) => w.version)) : undefined;
}

function readYourWritesMiddleware(): MiddlewareHandler<AppEnv> {
  return async function readYourWrites(c, next) {
    const raw = c.req.header(MIN_VERSION_HEADER);
    // The hot read path without a token pays one header lookup, no scope.
    if (raw === undefined && READS.has(c.req.method)) return next();
    const scope: ReadScope = { written: [] };
    if (raw !== undefined) {
      const floor = parseMinVersion(raw);
      if (floor === null)
        throw appError(
          "VALIDATION_ERROR",
          `${MIN_VERSION_HEADER} must be a version: digits, or W/"<digits>"`,
        );
      scope.floor = floor;
    }
    await readScope.run(scope, next);
    const version = etagVersion(scope, c.get("user")?.id);
    if (version !== undefined && c.res.status < 400) c.header("ETag", `W/"${version}"`);
  };
}

/**
 * Read-your-writes anywhere (SPEC §8, docs/CONSISTENCY.md "Read-your-writes tokens"): every write
 * response carries the version it was acknowledged with (`ETag: W/"<version>"`); a read that
 * presents it (`X-Min-Version`) is never served an older entry by any cache layer on any
 * instance — an older cached entry sends the read to MongoDB.
 */
export function readYourWritesPlugin(): Plugin {
  return {
    name: "read-your-writes",
    dependencies: ["cache-sync"],
    middleware: () => [readYourWritesMiddleware()],
    hooks: (ctx) => [
      {
        // After every afterWrite hook (write-through): the versions a cache now holds. Only the
        // cached collections: an announce hook makes the repository read the written documents
        // back, which a collection no cache holds (the ledger, requests) must not pay for.
        phase: "announce",
        collection: ctx
          .use("cache")
          .all()
          .map((c) => c.declaration.name),
        run: (change) => {
          const scope = readScope.getStore();
          if (!scope) return;
          for (const doc of change.after) {
            const version = (doc as { version?: unknown }).version;
            if (typeof version === "number")
              scope.written.push({ collection: change.collection, id: String(doc._id), version });
          }
        },
      },
    ],
  };
}
