import { LEASE_FIELD, TOMBSTONE_FIELD } from "../../../core/ports/cache-store";

/** `SET_IF_NEWER_LUA` replies. */
export const SET_IF_NEWER = {
  refused: 0,
  stored: 1,
  /** Stored into the key's own fill lease: lost in a failover, the key goes back to that lease. */
  storedOnLease: 2,
} as const;

/**
 * KEYS[1] = key; ARGV = value, version, ttlSeconds, lease ("" for none), reassert ("1" or "").
 * Replies with `SET_IF_NEWER`.
 *
 * A live entry admits only a strictly newer version (an equal one is the same write again); a
 * tombstone admits an equal version too, because it records the version that was current when
 * the entry was invalidated, and a fill carrying that version read the data after it.
 * A lease admits the fill holding it, and any write-through. A fill (lease given) never lands in
 * an absent key: the newer entry may have been evicted after the fill read MongoDB.
 * An entry whose version cannot be read counts as -1, so any real write replaces it.
 *
 * ARGV[6..] = field/value pairs of the incoming document's carried "latest" fields (write-behind
 * keeps a queued time such as `lastSeenAt` in the entry: docs/WRITE-BEHIND.md), each an ISO-8601
 * time or "" when the document has none. A live entry holding a later time for one of them
 * refuses the write, which cannot tell it apart from a plain refusal: the caller reads the entry,
 * takes the later times and writes again. So the entry never loses a queued time, and no JSON is
 * re-encoded here (the value stays as the application wrote it).
 *
 * With `reassert` (replicated topologies), a write refused because the key holds this version or
 * newer writes that entry again, unchanged (KEEPTTL): the caller's `WAIT` then covers it. The
 * entry may be another instance's fill, which nobody waited for; without the rewrite, a write
 * acknowledged as "already there" could be lost with that fill in a failover.
 */
export const SET_IF_NEWER_LUA = `
local current = redis.call('GET', KEYS[1])
local lease = ARGV[4]
local holder = nil
if current then
  local incoming = tonumber(ARGV[2])
  local ok, doc = pcall(cjson.decode, current)
  local stored = -1
  local tombstone = false
  if ok and type(doc) == 'table' then
    if type(doc.version) == 'number' then stored = doc.version end
    tombstone = doc['${TOMBSTONE_FIELD}'] == true
    holder = doc['${LEASE_FIELD}']
  end
  local newer = false
  if holder ~= nil then
    if lease ~= '' and lease ~= holder then return ${SET_IF_NEWER.refused} end
  elseif tombstone then
    newer = incoming < stored
  else
    newer = incoming <= stored
  end
  if newer then
    if ARGV[5] == '1' then redis.call('SET', KEYS[1], current, 'KEEPTTL') end
    return ${SET_IF_NEWER.refused}
  end
  if holder == nil and not tombstone and ok and type(doc) == 'table' then
    for i = 6, #ARGV - 1, 2 do
      local later = doc[ARGV[i]]
      if type(later) == 'string' and later > ARGV[i + 1] then return ${SET_IF_NEWER.refused} end
    end
  end
elseif lease ~= '' then
  return ${SET_IF_NEWER.refused}
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
if holder ~= nil and holder == lease then return ${SET_IF_NEWER.storedOnLease} end
return ${SET_IF_NEWER.stored}
`;
