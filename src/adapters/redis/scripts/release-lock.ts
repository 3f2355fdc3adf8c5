/** KEYS[1] = lock; ARGV = token. Deletes only while the lock is still ours (no GET-then-DEL race). */
export const RELEASE_LOCK_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;
