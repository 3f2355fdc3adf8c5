import { defineCachedCollection } from "../../cache/cache-sync/collection";
import type { CollectionCache } from "../../cache/cache-sync/collection-cache";
import { DEFAULT_SENSITIVE_FIELDS } from "../../cache/sanitize/sanitize-user";
import { type SanitizedUser, USER_COLLECTION } from "./user";

declare module "../../cache/cache-sync/registry" {
  interface CachedCollections {
    users: CollectionCache<SanitizedUser>;
  }
}

/**
 * The users collection as a cached collection. Entity `user` with the unique `email` gives SPEC
 * §4's layout exactly (`<prefix>user:<id>`, `<prefix>user:email:<email>`); the event keeps its
 * SPEC §5 name; the TTL is CACHE_TTL_SECONDS.
 */
export const usersCollection = defineCachedCollection<SanitizedUser>({
  name: USER_COLLECTION,
  entity: "user",
  unique: [{ field: "email", normalize: (email: string) => email.trim().toLowerCase() }],
  sensitive: DEFAULT_SENSITIVE_FIELDS,
  versionField: "version",
  event: "userDataUpdated",
});
