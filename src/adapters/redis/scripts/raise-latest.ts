import { LEASE_FIELD, MARKER_PREFIX } from "../../../core/ports/cache-store";

/**
 * KEYS[1] = a versioned entry; ARGV = expected, replacement, breakLease ("1" or ""), then
 * field/value pairs: times
 * (ISO-8601) write-behind just queued for fields the entry carries (docs/WRITE-BEHIND.md).
 * Replies nil when there is nothing more to do, or the entry's value when the caller must raise
 * it: the caller parses it, takes the later times, and calls again with that value as `expected`
 * and its own encoding as `replacement` — swapped in (TTL kept) only if the entry is still exactly
 * `expected`, so a write that landed meanwhile is never overwritten; no JSON is re-encoded here.
 *
 * - absent, or a tombstone: nothing (the next fill reads the overlay);
 * - a fill's lease: deleted, so that fill — whose overlay read may predate this change — is
 *   refused, and the next reader fills again;
 * - a live entry already as late for every field: nothing;
 * - a value that does not parse: deleted (the next fill rebuilds it, the overlay merged).
 */
export const RAISE_LATEST_LUA = `
local current = redis.call('GET', KEYS[1])
if not current then return false end
if string.sub(current, 1, ${MARKER_PREFIX.length}) == '${MARKER_PREFIX}' then
  if ARGV[3] == '1' and string.find(current, '"${LEASE_FIELD}"', 1, true) then
    redis.call('DEL', KEYS[1])
  end
  return false
end
if ARGV[1] ~= '' and current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  return false
end
local ok, doc = pcall(cjson.decode, current)
if not ok or type(doc) ~= 'table' then
  redis.call('DEL', KEYS[1])
  return false
end
for i = 4, #ARGV - 1, 2 do
  local held = doc[ARGV[i]]
  if type(held) ~= 'string' or held < ARGV[i + 1] then return current end
end
return false
`;
