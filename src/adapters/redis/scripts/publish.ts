/**
 * KEYS[1] = topic (stream key; also the pub/sub channel); ARGV = payload, maxLen.
 * Appending and announcing in one script keeps channel order equal to stream order across
 * instances: two separate calls could interleave as XADD a, XADD b, PUBLISH b, PUBLISH a.
 * PUBLISH inside a script is fine on Cluster (channels are cluster-wide); the only key is KEYS[1].
 */
export const PUBLISH_LUA = `
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'payload', ARGV[1])
redis.call('PUBLISH', KEYS[1], cjson.encode({ id = id, payload = ARGV[1] }))
return id
`;
