import { LEASE_FIELD, TOMBSTONE_FIELD } from "../../../core/ports/cache-store";

/**
 * KEYS[1] = topic (stream key; also the pub/sub channel); ARGV = payload, maxLen.
 * Appending and announcing in one script keeps channel order equal to stream order across
 * instances: two separate calls could interleave as XADD a, XADD b, PUBLISH b, PUBLISH a.
 * Standalone and Sentinel use classic PUBLISH; Cluster uses SHARDED_PUBLISH_LUA below.
 */
export const PUBLISH_LUA = `
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'payload', ARGV[1])
redis.call('PUBLISH', KEYS[1], cjson.encode({ id = id, payload = ARGV[1] }))
return id
`;

/**
 * The Cluster form: SPUBLISH on the shard channel named like the stream key, so both live in
 * KEYS[1]'s slot (Redis checks the channel's slot like a key's) and the message is delivered
 * only to the topic shard's subscribers, not broadcast to every node over the cluster bus.
 */
export const SHARDED_PUBLISH_LUA = PUBLISH_LUA.replace("'PUBLISH'", "'SPUBLISH'");

/**
 * KEYS[1] = topic, KEYS[2] = a cache entry; ARGV = payload, maxLen, version. PUBLISH_LUA, but only
 * once the entry holds `version` or a newer one (a live entry, not a tombstone or a fill's
 * lease); replies false, publishing nothing, otherwise. Sent on the cache's own connection right
 * behind the write-through's script, it lets an event go out in the same round trip as that
 * write while never announcing a version the cache does not hold (RedisEventBus.publishAfter).
 * Standalone and Sentinel only: on Cluster the two keys live in different slots.
 */
export const PUBLISH_IF_CACHED_LUA = `
local current = redis.call('GET', KEYS[2])
if not current then return false end
local ok, doc = pcall(cjson.decode, current)
if not ok or type(doc) ~= 'table' or type(doc.version) ~= 'number' then return false end
if doc['${TOMBSTONE_FIELD}'] ~= nil or doc['${LEASE_FIELD}'] ~= nil then return false end
if doc.version < tonumber(ARGV[3]) then return false end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'payload', ARGV[1])
redis.call('PUBLISH', KEYS[1], cjson.encode({ id = id, payload = ARGV[1] }))
return id
`;
