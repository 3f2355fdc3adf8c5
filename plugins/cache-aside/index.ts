import { ObjectId } from "bson";
import type { RepoCall } from "../../src/core/hooks";
import type { Plugin } from "../../src/core/plugin";
import type { SanitizedUser } from "../../src/domain/user";
import { markStale } from "../cache-sync/stale-scope";

const NO_FILL = { held: false } as const;

type Lookup = { by: "id"; id: string } | { by: "email"; email: string } | null;

/** Only `findOne({ _id })` / `findOne({ email })` with no options are served from the cache. */
function lookupOf(call: RepoCall): Lookup {
  const [filter, options] = call.args as [Record<string, unknown> | undefined, object | undefined];
  if (!filter || (options && Object.keys(options).length > 0)) return null;
  const keys = Object.keys(filter);
  if (keys.length !== 1) return null;
  if (keys[0] === "_id" && filter._id instanceof ObjectId)
    return { by: "id", id: filter._id.toHexString() };
  if (keys[0] === "email" && typeof filter.email === "string")
    return { by: "email", email: filter.email };
  return null;
}

/**
 * Cache-aside reads (SPEC §2 getUserWithSync): Redis first; on a miss one MongoDB read per key
 * however many callers wait (single flight), taken under a fill lease, then a versioned fill that
 * cannot overwrite a newer entry nor land where one was evicted. Redis failing means MongoDB
 * answers, never an error.
 */
export function cacheAsidePlugin(): Plugin {
  return {
    name: "cache-aside",
    dependencies: ["cache-sync"],
    hooks: (ctx) => {
      const engine = ctx.use("cacheEngine");
      const byEmail = async (email: string): Promise<SanitizedUser | null> => {
        const id = await engine.getCachedIdByEmail(email);
        if (!id) return null;
        const cached = await engine.getCached(id);
        // An email index left behind by an email change must not resolve to someone else.
        return cached && cached.email === email ? cached : null;
      };
      const cachedUser = (lookup: NonNullable<Lookup>) =>
        lookup.by === "id" ? engine.getCached(lookup.id) : byEmail(lookup.email);
      // One MongoDB read per key however many callers miss at once, then a versioned fill.
      const fill = (lookup: NonNullable<Lookup>, next: () => Promise<unknown>) =>
        engine.flights.do(
          lookup.by === "id" ? lookup.id : `email:${lookup.email}`,
          async (seal) => {
            const end = engine.metrics.fillSeconds.startTimer();
            // An email miss cannot lease the user's key before it knows the id: it answers from
            // MongoDB without filling (a fill by versions alone could land after an eviction).
            const lease = lookup.by === "id" ? await engine.lease(lookup.id) : NO_FILL;
            // Joiners from here on would get a read that may predate a write acknowledged
            // after they arrived (on any instance): they share the next load instead.
            seal();
            const doc = (await engine.observeMongo(next())) as Record<string, unknown> | null;
            if (!doc) return null;
            const sanitized = engine.sanitize(doc);
            // Refused means the key changed since the lease; the document is still current for
            // every caller of this load, since they all arrived before its read began.
            await engine.fill(sanitized, lease);
            end();
            return sanitized;
          },
        );
      return [
        {
          collection: "users",
          op: "findOne",
          run: (call, next) => {
            const lookup = lookupOf(call);
            if (!lookup) return engine.observeMongo(next());
            const { metrics } = engine;
            // A promise chain, not async/await: the hit path is the product's hottest code.
            return cachedUser(lookup).then((cached) => {
              if (cached) {
                metrics.cacheHits.inc();
                call.state.sanitized = true;
                call.state.source = "cache";
                if (engine.mongoDegraded()) markStale();
                return cached;
              }
              metrics.cacheMisses.inc();
              call.state.source = "db";
              return fill(lookup, next).then((user) => {
                if (user) call.state.sanitized = true;
                // Each caller gets its own copy: a caller mutating its result must not affect others.
                return user ? structuredClone(user) : null;
              });
            });
          },
        },
      ];
    },
  };
}
