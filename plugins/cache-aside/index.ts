import { ObjectId } from "bson";
import type { RepoCall } from "../../src/core/hooks";
import type { Plugin } from "../../src/core/plugin";
import type { SanitizedUser } from "../../src/domain/user";
import type { CacheEngine } from "../cache-sync/engine";
import { markStale } from "../cache-sync/stale-scope";

type Lookup = { by: "id"; id: string } | { by: "email"; email: string } | null;

/** Only `findOne({ _id })` / `findOne({ email })` with no options are served from the cache. */
function lookupOf(call: RepoCall): Lookup {
  const [filter, options] = call.args as [Record<string, unknown> | undefined, object | undefined];
  if (!filter || (options && Object.keys(options).length > 0)) return null;
  const keys = Object.keys(filter);
  if (keys.length !== 1) return null;
  if (keys[0] === "_id" && filter._id instanceof ObjectId) return { by: "id", id: filter._id.toHexString() };
  if (keys[0] === "email" && typeof filter.email === "string") return { by: "email", email: filter.email };
  return null;
}

/**
 * Cache-aside reads (SPEC §2 getUserWithSync): Redis first; on a miss one MongoDB read per key
 * however many callers wait (single flight), then a versioned fill that cannot overwrite a newer
 * entry. Redis failing means MongoDB answers, never an error.
 */
export function cacheAsidePlugin(): Plugin {
  let engine: CacheEngine;
  return {
    name: "cache-aside",
    dependencies: ["cache-sync"],
    register(ctx) {
      engine = ctx.use("cacheEngine");
    },
    hooks: (ctx) => [
      {
        collection: "users",
        op: "findOne",
        run: async (call, next) => {
          const lookup = lookupOf(call);
          if (!lookup) return engine.observeMongo(next());
          const { metrics } = ctx;

          let cached: SanitizedUser | null = null;
          if (lookup.by === "id") {
            cached = await engine.getCached(lookup.id);
          } else {
            const id = await engine.getCachedIdByEmail(lookup.email);
            if (id) {
              cached = await engine.getCached(id);
              // An email index left behind by an email change must not resolve to someone else.
              if (cached && cached.email !== lookup.email) cached = null;
            }
          }
          if (cached) {
            metrics.cacheHits.inc();
            call.state.sanitized = true;
            call.state.source = "cache";
            if (engine.mongoDegraded()) markStale();
            return cached;
          }

          metrics.cacheMisses.inc();
          call.state.source = "db";
          const key = lookup.by === "id" ? lookup.id : `email:${lookup.email}`;
          const user = await engine.flights.do(key, async () => {
            const end = metrics.fillSeconds.startTimer();
            const doc = (await engine.observeMongo(next())) as Record<string, unknown> | null;
            if (!doc) return null;
            const sanitized = engine.sanitize(doc);
            await engine.fill(sanitized);
            end();
            return sanitized;
          });
          if (user) call.state.sanitized = true;
          // Each caller gets its own copy: a caller mutating its result must not affect others.
          return user ? structuredClone(user) : null;
        },
      },
    ],
  };
}
