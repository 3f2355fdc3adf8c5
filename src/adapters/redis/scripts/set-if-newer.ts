import { TOMBSTONE_FIELD } from "../../../core/ports/cache-store";

/**
 * KEYS[1] = key; ARGV = value, version, ttlSeconds. Returns 1 when stored, 0 when not.
 *
 * A live entry admits only a strictly newer version (an equal one is the same write again); a
 * tombstone admits an equal version too, because it records the version that was current when
 * the entry was invalidated, and a fill carrying that version read the data after it.
 * An entry whose version cannot be read counts as -1, so any real write replaces it.
 */
export const SET_IF_NEWER_LUA = `
local current = redis.call('GET', KEYS[1])
if current then
  local incoming = tonumber(ARGV[2])
  local ok, doc = pcall(cjson.decode, current)
  local stored = -1
  local tombstone = false
  if ok and type(doc) == 'table' then
    if type(doc.version) == 'number' then stored = doc.version end
    tombstone = doc['${TOMBSTONE_FIELD}'] == true
  end
  if tombstone then
    if incoming < stored then return 0 end
  elseif incoming <= stored then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 1
`;
