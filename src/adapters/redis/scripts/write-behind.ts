/**
 * KEYS[1] = a write-behind overlay hash; ARGV = ttlSeconds, nAdd, then nAdd field/amount pairs,
 * then field/value pairs to raise. A new hash gets `gen` from the server clock (µs), so a hash
 * that was lost and recreated is told apart from the one before. Values are passed and stored as
 * the caller's strings (a Lua number would print 1.7e+12 for a timestamp).
 */
export const HASH_ACCUMULATE_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  local t = redis.call('TIME')
  redis.call('HSET', KEYS[1], 'gen', t[1] .. string.format('%06d', tonumber(t[2])))
end
local nAdd = tonumber(ARGV[2])
local i = 3
for _ = 1, nAdd do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
  i = i + 2
end
while i < #ARGV do
  local current = tonumber(redis.call('HGET', KEYS[1], ARGV[i]))
  if current == nil or tonumber(ARGV[i + 1]) > current then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
  i = i + 2
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return redis.call('HGETALL', KEYS[1])
`;

/**
 * KEYS[1] = the queue stream; ARGV = maxLen, then field/value pairs. Full → nil: the caller
 * takes another path (a direct write) instead of MAXLEN trimming an entry not flushed yet. The
 * MAXLEN clause then only bounds memory should the check ever be bypassed.
 */
export const STREAM_ADD_LUA = `
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return false end
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(ARGV, 2))
`;

/** KEYS[1] = the queue stream; ARGV = group, then ids. Acknowledged entries are deleted. */
export const STREAM_ACK_DELETE_LUA = `
local n = redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 2))
redis.call('XDEL', KEYS[1], unpack(ARGV, 2))
return n
`;
