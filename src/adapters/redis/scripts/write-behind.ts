/**
 * KEYS[1] = a write-behind overlay: one string key holding a JSON object of strings, so a reader
 * gets it in the same MGET as the document's entry (one command). ARGV = ttlSeconds, nAdd, then
 * nAdd field/amount pairs, then field/value pairs to raise. A new overlay gets `gen` from the
 * server clock (µs), so one lost and recreated is told apart from the one before. Values are kept
 * as strings: a Lua number would print 1.7e+12 for a timestamp, and cjson keeps 14 digits only.
 *
 * A hash at the key is an overlay of the previous format (HSET/HINCRBY): it is taken over as is,
 * `gen` and running totals included, so the arithmetic of the documents' `_wb.n` stays exact.
 */
export const OVERLAY_ACCUMULATE_LUA = `
local kind = redis.call('TYPE', KEYS[1]).ok
local o
if kind == 'string' then
  o = cjson.decode(redis.call('GET', KEYS[1]))
elseif kind == 'hash' then
  o = {}
  local flat = redis.call('HGETALL', KEYS[1])
  for i = 1, #flat, 2 do o[flat[i]] = flat[i + 1] end
else
  local t = redis.call('TIME')
  o = { gen = t[1] .. string.format('%06d', tonumber(t[2])) }
end
local nAdd = tonumber(ARGV[2])
local i = 3
for _ = 1, nAdd do
  o[ARGV[i]] = string.format('%d', (tonumber(o[ARGV[i]]) or 0) + tonumber(ARGV[i + 1]))
  i = i + 2
end
while i < #ARGV do
  local current = tonumber(o[ARGV[i]])
  if current == nil or tonumber(ARGV[i + 1]) > current then o[ARGV[i]] = ARGV[i + 1] end
  i = i + 2
end
local encoded = cjson.encode(o)
redis.call('SET', KEYS[1], encoded, 'EX', ARGV[1])
return encoded
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
