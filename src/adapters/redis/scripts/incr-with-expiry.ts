/**
 * KEYS[1] = counter; ARGV = ttlSeconds. The expiry is set when the counter has none (first
 * increment, or a counter that somehow lost it) so a window never becomes permanent.
 * TTL == -1 instead of EXPIRE NX keeps it working on Redis < 7.
 */
export const INCR_WITH_EXPIRY_LUA = `
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('TTL', KEYS[1]) == -1 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return n
`;
