/**
 * Cache key layout. An entry is `<prefix><entity>:<id>`; a unique lookup is an index key
 * `<prefix><entity>:<field>:<value>` holding the id. With entity `user` and the unique field
 * `email` this is SPEC §4's layout exactly. Single keys only, so every script works unchanged on
 * Redis Cluster.
 */
export const entryKey = (prefix: string, entity: string, id: string) => `${prefix}${entity}:${id}`;
export const indexKey = (prefix: string, entity: string, field: string, value: string) =>
  `${prefix}${entity}:${field}:${value}`;

/** SPEC §4: `<prefix>user:<id>`. */
export const userKey = (prefix: string, id: string) => entryKey(prefix, "user", id);
/** SPEC §4: `<prefix>user:email:<email>` (lower-cased, as emails are stored). */
export const emailKey = (prefix: string, email: string) =>
  indexKey(prefix, "user", "email", email.toLowerCase());
