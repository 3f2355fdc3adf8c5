import { LEASE_FIELD, TOMBSTONE_FIELD } from "../../../core/ports/cache-store";

/**
 * KEYS[1] = key; ARGV = value, version, ttlSeconds, lease ("" for none). Returns 1 when stored.
 *
 * A live entry admits only a strictly newer version (an equal one is the same write again); a
 * tombstone admits an equal version too, because it records the version that was current when
 * the entry was invalidated, and a fill carrying that version read the data after it.
 * A lease admits the fill holding it, and any write-through. A fill (lease given) never lands in
 * an absent key: the newer entry may have been evicted after the fill read MongoDB.
 * An entry whose version cannot be read counts as -1, so any real write replaces it.
 */
export const SET_IF_NEWER_LUA = `
local current = redis.call('GET', KEYS[1])
local lease = ARGV[4]
if current then
  local incoming = tonumber(ARGV[2])
  local ok, doc = pcall(cjson.decode, current)
  local stored = -1
  local tombstone = false
  local holder = nil
  if ok and type(doc) == 'table' then
    if type(doc.version) == 'number' then stored = doc.version end
    tombstone = doc['${TOMBSTONE_FIELD}'] == true
    holder = doc['${LEASE_FIELD}']
  end
  if holder ~= nil then
    if lease ~= '' and lease ~= holder then return 0 end
  elseif tombstone then
    if incoming < stored then return 0 end
  elseif incoming <= stored then
    return 0
  end
elseif lease ~= '' then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 1
`;
