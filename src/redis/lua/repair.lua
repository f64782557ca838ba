--[[
  Moves aside the clock's own keys that hold the wrong type (a key edited by hand, a stray write),
  so one corrupt key does not stall every schedule. Only the leader repairs (fenced by the lease).

  KEYS[1]        lease: the leader's token
  KEYS[2..N+1]   the keys to check
  KEYS[N+2..2N+1] where each goes when it holds the wrong type (`<key>:corrupt`, same hash tag)
  ARGV[1]        caller's lease token; "" for keys in no lease's slot (the deployment's, with shards:
                 checked by shard 0's leader, see repair.ts)
  ARGV[2..N+1]   the type each key must have (string, hash, set, ...)

  Returns  -1 when the caller is not the leader; otherwise a flat list key, found type, ... of the
           keys moved aside (empty when all was well)
]]
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return -1
end
local n = #ARGV - 1
local moved = {}
for i = 1, n do
  local key = KEYS[i + 1]
  local found = redis.call('TYPE', key)['ok']
  if found ~= 'none' and found ~= ARGV[i + 1] then
    redis.call('RENAME', key, KEYS[n + i + 1])
    moved[#moved + 1] = key
    moved[#moved + 1] = found
  end
end
return moved
