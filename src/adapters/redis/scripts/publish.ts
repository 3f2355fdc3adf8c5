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
