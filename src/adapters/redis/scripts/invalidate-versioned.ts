import { TOMBSTONE_FIELD } from "../../../core/ports/cache-store";

/**
 * KEYS[1] = key; ARGV = version, markerTtlMs. Replaces the entry by a tombstone carrying
 * max(version, stored version): an invalidation never moves the key's version backwards.
 * `%d` rather than tostring: Lua 5.1 prints large numbers in exponent form.
 */
export const INVALIDATE_VERSIONED_LUA = `
local version = tonumber(ARGV[1])
local current = redis.call('GET', KEYS[1])
if current then
  local ok, doc = pcall(cjson.decode, current)
  if ok and type(doc) == 'table' and type(doc.version) == 'number' and doc.version > version then
    version = doc.version
  end
end
redis.call('SET', KEYS[1], '{"${TOMBSTONE_FIELD}":true,"version":' .. string.format('%d', version) .. '}', 'PX', ARGV[2])
return 1
`;
